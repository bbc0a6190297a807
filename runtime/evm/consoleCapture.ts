import { hexToBytes, type Address } from '@ethereumjs/util';
import { CONSOLE_ADDRESS, formatConsoleLog } from './consoleLog.ts';

const CONSOLE = hexToBytes(CONSOLE_ADDRESS as `0x${string}`);

function isConsole(address: Uint8Array): boolean {
  for (let i = 19; i >= 0; i--) if (address[i] !== CONSOLE[i]) return false;
  return true;
}

/** The most console.log lines one transaction prints, and the calldata kept for them (the rest are counted, not kept). */
const MAX_LINES = 1_000;
const MAX_KEPT_BYTES = 1024 * 1024;
/** Longer calldata is no line (formatConsoleLog refuses it): not kept. */
const MAX_LINE_BYTES = 64 * 1024;

interface Frame {
  to?: Address;
  /** Throws for a creation. */
  codeAddress: Address;
  data: Uint8Array;
}

/**
 * Hardhat's console.log on the dev network, as Anvil prints it: the calls a transaction's
 * frames make to console.sol's address are kept, and printed once it has run, unless
 * any of its frames ran a contract with a confidentiality policy (whose data a callee
 * could log), so nothing governed reaches the node's output. The same frames tell the
 * block builder whether a failed transaction's revert data may be kept for its send.
 */
export class ConsoleCapture {
  private lines: Uint8Array[] = [];
  private kept = 0;
  private more = 0;
  /** Every frame's addresses; judged only when there are lines to print. */
  private frames: Address[] = [];

  constructor(
    events: { on(topic: 'beforeMessage', listener: (message: Frame) => void): unknown },
    private readonly governed: (address: string) => boolean,
  ) {
    events.on('beforeMessage', (message) => this.seen(message));
  }

  private seen(message: Frame): void {
    const to = message.to;
    if (to !== undefined && isConsole(to.bytes)) {
      const data = message.data;
      if (data.length > MAX_LINE_BYTES) return;
      if (this.lines.length < MAX_LINES && this.kept + data.length <= MAX_KEPT_BYTES) {
        this.lines.push(data.slice());
        this.kept += data.length;
      } else this.more++;
      return;
    }
    // A creation (no `to`) runs the new contract's init code, which has no policy yet;
    // ethereumjs throws on its codeAddress.
    if (to === undefined) return;
    this.frames.push(to);
    const code = message.codeAddress;
    if (code !== to) this.frames.push(code);
  }

  /** Whether the transaction running (or just run) has reached a contract with a confidentiality policy in any frame. */
  ranGoverned(): boolean {
    return this.frames.some((a) => this.governed(a.toString()));
  }

  /** Ends a transaction: prints its lines through `print` (when nothing governed ran), then forgets them. */
  flush(print: (line: string) => void): void {
    if (this.lines.length > 0 || this.more > 0) this.print(print);
    this.frames.length = 0;
  }

  private print(print: (line: string) => void): void {
    if (!this.ranGoverned()) {
      for (const data of this.lines) {
        const line = formatConsoleLog(data);
        if (line !== undefined) print(line);
      }
      if (this.more > 0) print(`(${this.more} more console.log lines not shown)`);
    }
    this.lines = [];
    this.kept = 0;
    this.more = 0;
  }
}

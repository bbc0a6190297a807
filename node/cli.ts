#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import path from 'node:path';
import { DEFAULT_BLOCK_GAS_LIMIT, DEFAULT_CHAIN_ID, DEV_MNEMONIC, startNode, VERSION } from './startNode.ts';
import { limitOptions, limitsFrom } from './limitOptions.ts';
import { readGenesisFile, type GenesisFile } from './genesisFile.ts';
import { asLogger, createLogger, LOG_LEVELS, type LogLevelName } from './logger.ts';
import {
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_BODY,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_HTTP_CONNECTIONS,
  DEFAULT_MAX_REQUESTS_IN_FLIGHT,
  DEFAULT_MAX_WS_CONNECTIONS,
  DEFAULT_MAX_WS_IN_FLIGHT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type RpcTransportOptions,
} from './rpc/server.ts';

function integer(min: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`an integer >= ${min} expected`);
    return n;
  };
}

/** A comma-separated list: `a.example,b.example`. */
function list(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** The JSON-RPC transport options as commander parses them. */
interface RpcCliOptions {
  maxBodySize: number;
  maxBatchSize: number;
  maxHttpConnections: number;
  maxWsConnections: number;
  maxWsInFlight: number;
  maxRequestsInFlight: number;
  maxBufferedBytes: number;
  httpRequestTimeout: number;
  allowedHosts: string[];
  corsOrigins: string[];
}

function rpcTransport(o: RpcCliOptions): RpcTransportOptions {
  return {
    maxBodyBytes: o.maxBodySize,
    maxBatchSize: o.maxBatchSize,
    maxHttpConnections: o.maxHttpConnections,
    maxWsConnections: o.maxWsConnections,
    maxWsInFlight: o.maxWsInFlight,
    maxRequestsInFlight: o.maxRequestsInFlight,
    maxBufferedBytes: o.maxBufferedBytes,
    requestTimeoutMs: o.httpRequestTimeout,
    allowedHosts: o.allowedHosts,
    corsOrigins: o.corsOrigins,
  };
}

const program = new Command()
  .name('conclave')
  .description('Conclave: a confidential consortium EVM node. The EVM runs in an enclave; state and ledger are encrypted at rest.')
  .version(VERSION);

const start = program
  .command('start')
  .description('start a node (a dev network with funded accounts from the standard test mnemonic)')
  .addOption(new Option('--host <host>', 'interface to listen on').default('127.0.0.1').env('CONCLAVE_HOST'))
  .addOption(new Option('-p, --port <port>', 'JSON-RPC port, HTTP and WebSocket').default(8545).argParser(integer(0)).env('CONCLAVE_PORT'))
  .addOption(new Option('--data <dir>', 'data directory').default('./data').env('CONCLAVE_DATA'))
  .addOption(new Option('--chain-id <id>', 'chain id (EIP-155)').default(Number(DEFAULT_CHAIN_ID)).argParser(integer(1)).env('CONCLAVE_CHAIN_ID'))
  .addOption(
    new Option('--block-time <ms>', '0: a block as soon as transactions wait; N: a block every N ms')
      .default(0)
      .argParser(integer(0))
      .env('CONCLAVE_BLOCK_TIME'),
  )
  .addOption(
    new Option(
      '--send-returns-at-admission',
      "dev network: answer eth_sendTransaction / eth_sendRawTransaction once admitted, not once the block is durable (Hardhat's default), for throughput",
    ).env('CONCLAVE_SEND_RETURNS_AT_ADMISSION'),
  )
  .addOption(
    new Option('--gas-limit <gas>', 'block gas limit of a new chain (fixed at genesis: a restart keeps it)')
      .default(Number(DEFAULT_BLOCK_GAS_LIMIT))
      .argParser(integer(21_000))
      .env('CONCLAVE_GAS_LIMIT'),
  )
  .addOption(
    new Option('--genesis <file>', 'start a consortium network from this network file (identities, funds, default policy); default: the open dev network').env(
      'CONCLAVE_GENESIS',
    ),
  )
  .addOption(
    new Option('--session-domains <domains>', 'Sign-In with Ethereum domains (host[:port], comma-separated) served besides the Host a login arrives at')
      .default([], 'none')
      .argParser(list)
      .env('CONCLAVE_SESSION_DOMAINS'),
  )
  .addOption(
    new Option('--client-version <string>', 'what web3_clientVersion answers (default: anvil/v1.0.0 (Conclave/v...) on the dev network, Conclave/v... on a consortium one)').env(
      'CONCLAVE_CLIENT_VERSION',
    ),
  )
  .addOption(new Option('--reset', "remove the node's files from the data directory first").default(false).env('CONCLAVE_RESET'))
  .addOption(
    new Option('--platform-secret-file <file>', 'simulated platform secret (default ~/.conclave/platform-secret)').env(
      'CONCLAVE_PLATFORM_SECRET_FILE',
    ),
  )
  .addOption(new Option('--max-body-size <bytes>', 'largest HTTP body or WebSocket message').default(DEFAULT_MAX_BODY).argParser(integer(1024)).env('CONCLAVE_MAX_BODY_SIZE'))
  .addOption(new Option('--max-batch-size <n>', 'most requests in one batch').default(DEFAULT_MAX_BATCH).argParser(integer(1)).env('CONCLAVE_MAX_BATCH_SIZE'))
  .addOption(
    new Option('--max-http-connections <n>', 'most open HTTP connections (WebSockets not counted)')
      .default(DEFAULT_MAX_HTTP_CONNECTIONS)
      .argParser(integer(1))
      .env('CONCLAVE_MAX_HTTP_CONNECTIONS'),
  )
  .addOption(
    new Option('--max-ws-connections <n>', 'most open WebSocket connections')
      .default(DEFAULT_MAX_WS_CONNECTIONS)
      .argParser(integer(1))
      .env('CONCLAVE_MAX_WS_CONNECTIONS'),
  )
  .addOption(
    new Option('--max-ws-in-flight <n>', 'most requests answered at once on one WebSocket (a batch of N counts N)')
      .default(DEFAULT_MAX_WS_IN_FLIGHT)
      .argParser(integer(1))
      .env('CONCLAVE_MAX_WS_IN_FLIGHT'),
  )
  .addOption(
    new Option('--max-requests-in-flight <n>', 'most requests answered at once on the node, HTTP and WebSocket (a batch of N counts N)')
      .default(DEFAULT_MAX_REQUESTS_IN_FLIGHT)
      .argParser(integer(1))
      .env('CONCLAVE_MAX_REQUESTS_IN_FLIGHT'),
  )
  .addOption(
    new Option('--max-buffered-bytes <bytes>', 'most request bytes (HTTP bodies, WebSocket messages) held at once on the node')
      .default(DEFAULT_MAX_BUFFERED_BYTES)
      .argParser(integer(1024))
      .env('CONCLAVE_MAX_BUFFERED_BYTES'),
  )
  .addOption(
    new Option('--http-request-timeout <ms>', 'time a client has to send a whole HTTP request')
      .default(DEFAULT_REQUEST_TIMEOUT_MS)
      .argParser(integer(1000))
      .env('CONCLAVE_HTTP_REQUEST_TIMEOUT'),
  )
  .addOption(
    new Option('--allowed-hosts <names>', 'Host header names served besides localhost, 127.0.0.1 and [::1] (comma-separated; * for any)')
      .default([], 'none')
      .argParser(list)
      .env('CONCLAVE_ALLOWED_HOSTS'),
  )
  .addOption(
    new Option('--cors-origins <origins>', 'origins whose web pages may read answers (comma-separated; * for any); listed ones may also use the dev accounts')
      .default(['*'], '*')
      .argParser(list)
      .env('CONCLAVE_CORS_ORIGINS'),
  )
  .addOption(
    new Option('--log-level <level>', 'least severe operational event written to stderr, one JSON line each')
      .choices(LOG_LEVELS)
      .default('info')
      .env('CONCLAVE_LOG_LEVEL'),
  );

// What callers may spend, enforced in the enclave: one option per budget.
for (const option of limitOptions()) start.addOption(option);

type StartOptions = {
  host: string;
  port: number;
  data: string;
  chainId: number;
  blockTime: number;
  sendReturnsAtAdmission?: boolean;
  gasLimit: number;
  genesis?: string;
  sessionDomains: string[];
  clientVersion?: string;
  reset: boolean | string;
  platformSecretFile?: string;
  logLevel: LogLevelName;
} & RpcCliOptions;

start.action(async (o: StartOptions) => {
    const reset = o.reset === true || o.reset === 'true' || o.reset === '1';
    const log = asLogger(createLogger(o.logLevel));
    // The simulated platform: the enclave reads the secret's location from its environment.
    if (o.platformSecretFile) process.env.CONCLAVE_PLATFORM_SECRET_FILE = path.resolve(o.platformSecretFile);
    let node;
    let genesis: GenesisFile | undefined;
    try {
      if (o.genesis) {
        genesis = readGenesisFile(o.genesis);
        if (start.getOptionValueSource('chainId') !== 'default' && BigInt(o.chainId) !== genesis.chainId) {
          throw new Error(`--chain-id ${o.chainId} differs from the network file's chainId ${genesis.chainId}; the network file decides`);
        }
      }
      node = await startNode({
        host: o.host,
        port: o.port,
        dataDir: path.resolve(o.data),
        chainId: genesis?.chainId ?? BigInt(o.chainId),
        ...(genesis ? { network: genesis.network } : {}),
        sessionDomains: o.sessionDomains,
        ...(o.clientVersion !== undefined ? { clientVersion: o.clientVersion } : {}),
        blockTime: o.blockTime,
        ...(o.sendReturnsAtAdmission ? { sendReturnsAtAdmission: true } : {}),
        // A consensus parameter pinned at genesis: passed only when given, so a restart
        // without --gas-limit keeps the chain's own, and a different one is refused.
        ...(start.getOptionValueSource('gasLimit') !== 'default' ? { blockGasLimit: BigInt(o.gasLimit) } : {}),
        reset,
        rpc: rpcTransport(o),
        limits: limitsFrom(o),
        log,
      });
    } catch (err) {
      process.stderr.write(`conclave: ${(err as Error).message}\n`);
      process.exit(1);
    }
    const roleNames = (bits: number) => ['member', 'user', 'auditor'].filter((_, i) => bits & (1 << i)).join(', ');
    const accounts = genesis
      ? [
          `Network:    ${genesis.name ?? o.genesis} (consortium: only registered identities transact)`,
          '',
          'Identities',
          '==================',
          ...genesis.network.identities.map((id, i) => `(${i}) ${id.address} (${roleNames(id.roles)})`),
        ]
      : [
          'Available Accounts',
          '==================',
          ...node.accounts.map((a, i) => `(${i}) ${a} (10000 ETH)`),
          '',
          'HD Wallet',
          '==================',
          `Mnemonic:        ${DEV_MNEMONIC}`,
          "Derivation path: m/44'/60'/0'/0/",
          '',
          'WARNING: these accounts and their keys are PUBLIC (the standard test mnemonic). Any funds sent to them',
          'on a network other than this dev network WILL BE LOST. Never use them outside development.',
        ];
    const lines = [
      '',
      `Conclave v${VERSION}`,
      '',
      ...accounts,
      '',
      `Chain ID:   ${node.chainId}`,
      `Data:       ${path.resolve(o.data)} (encrypted at rest)`,
      `Block time: ${o.blockTime === 0 ? 'a block as soon as transactions wait' : `${o.blockTime} ms`}`,
      node.recoveredFrom.replayedBlocks > 0 || node.recoveredFrom.snapshot !== null
        ? `Recovered:  head block ${node.head} (snapshot ${node.recoveredFrom.snapshot ?? 'none'}, ${node.recoveredFrom.replayedBlocks} blocks replayed)`
        : `Genesis:    new chain`,
      '',
      `Listening on ${node.url} (HTTP) and ${node.wsUrl} (WebSocket)`,
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
    // The same facts for log readers; URLs here carry no session token.
    log('info', 'node started', { version: VERSION, chainId: Number(node.chainId), head: Number(node.head), http: node.url, ws: node.wsUrl });
    const stop = (signal: string) => {
      log('info', 'shutting down', { signal });
      node.close().then(
        () => {
          log('info', 'node stopped');
          process.exit(0);
        },
        (err: Error) => {
          log('error', 'node did not stop cleanly', { error: err.message });
          process.exit(1);
        },
      );
    };
    node.failed.then((err) => {
      process.stderr.write(`conclave: stopped: ${err.message}\n`);
      process.exit(1);
    });
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });

program.parseAsync(process.argv);

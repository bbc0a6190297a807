import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RpcObserver } from './rpc/types.ts';

/**
 * Methods whose success puts a transaction on the ordering log; an error answer is a
 * refused transaction.
 */
const SUBMITTING = new Set(['eth_sendRawTransaction', 'eth_sendTransaction']);

/** What the gauges read when scraped: the server's connections, the log, the data directory. */
export interface NodeGauges {
  httpConnections(): number;
  wsConnections(): number;
  /** Transactions on the ordering log not yet in a block. */
  pendingTransactions(): number;
  /** Bytes of the ledger database and its write-ahead log (sizes the host sees anyway). */
  ledgerBytes(): number;
}

/**
 * A node's Prometheus metrics on a registry of its own (two nodes in one process do not
 * clash). Every value is a public aggregate the host already sees: counts, durations,
 * block numbers. Labels are method names from the method table (others are counted as
 * `other`) and JSON-RPC error codes, never parameters, credentials or addresses.
 */
export class NodeMetrics implements RpcObserver {
  readonly registry = new Registry();
  private gauges?: NodeGauges;

  private readonly blocks = new Counter({
    name: 'conclave_blocks_announced_total',
    help: 'Blocks made durable and announced since start.',
    registers: [this.registry],
  });
  private readonly head = new Gauge({
    name: 'conclave_head_block_number',
    help: 'Number of the newest announced block.',
    registers: [this.registry],
  });
  private readonly submitted = new Counter({
    name: 'conclave_transactions_submitted_total',
    help: 'Transactions accepted by eth_sendRawTransaction and eth_sendTransaction.',
    registers: [this.registry],
  });
  private readonly refused = new Counter({
    name: 'conclave_transactions_refused_total',
    help: 'Transactions refused by eth_sendRawTransaction and eth_sendTransaction.',
    registers: [this.registry],
  });
  private readonly requests = new Counter({
    name: 'conclave_rpc_requests_total',
    help: 'JSON-RPC requests answered, by method and result (ok, or the JSON-RPC error code).',
    labelNames: ['method', 'code'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'conclave_rpc_request_duration_seconds',
    help: 'Time to answer a JSON-RPC request, by method.',
    labelNames: ['method'] as const,
    buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 2.5],
    registers: [this.registry],
  });
  private readonly skippedEntries = new Counter({
    name: 'conclave_ordering_entries_skipped_total',
    help: 'Ordering-log entries the enclave skipped (malformed or unauthenticated).',
    registers: [this.registry],
  });
  private readonly limits = new Counter({
    name: 'conclave_limits_hit_total',
    help: 'Answers refused for a limit (JSON-RPC error -32005).',
    registers: [this.registry],
  });

  private readonly drift = new Gauge({
    name: 'conclave_cut_clock_drift_seconds',
    help: "The ordering log's clock minus this host's wall clock when the last cut was appended.",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const gauge = (name: string, help: string, read: (g: NodeGauges) => number) => {
      const gauges = () => this.gauges;
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const g = gauges();
          this.set(g ? read(g) : 0);
        },
      });
    };
    gauge('conclave_http_connections', 'Open HTTP connections (WebSockets not counted).', (g) => g.httpConnections());
    gauge('conclave_ws_connections', 'Open WebSocket connections.', (g) => g.wsConnections());
    gauge('conclave_pool_pending_transactions', 'Transactions on the ordering log not yet in a block.', (g) => g.pendingTransactions());
    gauge('conclave_ledger_bytes', 'Size of the ledger database and its write-ahead log, in bytes.', (g) => g.ledgerBytes());
  }

  /** Where the gauges read from, once the node runs. */
  watch(gauges: NodeGauges): void {
    this.gauges = gauges;
  }

  /** The log's clock minus the wall clock at a cut, in ms. */
  cutDrift(ms: number): void {
    this.drift.set(ms / 1000);
  }

  /** Blocks made durable and announced; `head` is the newest. */
  announced(count: number, head: bigint): void {
    this.blocks.inc(count);
    this.head.set(Number(head));
  }

  /** The head the node starts from. */
  startHead(head: bigint): void {
    this.head.set(Number(head));
  }

  /** An ordering-log entry the enclave skipped. */
  skipped(): void {
    this.skippedEntries.inc();
  }

  request(method: string, code: number | undefined, seconds: number): void {
    this.requests.inc({ method, code: code === undefined ? 'ok' : String(code) });
    this.duration.observe({ method }, seconds);
    if (SUBMITTING.has(method)) (code === undefined ? this.submitted : this.refused).inc();
    if (code === -32005) this.limits.inc();
  }

  limitHit(): void {
    this.limits.inc();
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

// Node/V8 flags every Tide node process runs with. V8 reads them only at process start, so they
// travel on the command line: bin/tide.js's shebang and `npm start` carry the same list (a test
// keeps the three in step), and `tide dev` and the test and bench helpers pass it when they spawn
// nodes.
//
// --max-semi-space-size=32 (MiB; Node's default is 16): a node allocates a request-sized Buffer
// per produced batch and per replication answer; a larger young generation lets more of them die
// in cheap scavenges. Measured on the 3-node benchmark (npm run bench -- --only cluster, RF=3,
// flush=sync): batched 49k/46k -> 52k/61k msgs/s, one record per request 20.2k -> 20.4k/20.6k;
// 64 was worse for one record per request (16-17k).
//
// --initial-old-space-size=128 (MiB): a node's live heap is small (~15 MB), so V8 sets the old
// generation's limit a few tens of MB above it, and it starts incremental marking as soon as the
// room left under that limit is smaller than the young generation (32 MiB above): with a small
// heap, almost always. Under batched load each node ran ~7 full (mark-compact) collections a
// second, ~100 per 15 s, costing 11 ms each on the event loop plus concurrent marking on the other
// core. With this floor under the limit it ran 9. Same benchmark, batched, old and new flags taking
// turns: 50.6k/49.2k -> 70.9k/71.5k msgs/s, node CPU per message 32-33 -> 19 us; one record per
// request and the 2,000 msgs/s latency run did not move. The cost is memory: the heap may grow to
// ~128 MB before a full collection.
export const TIDE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32', '--initial-old-space-size=128'];

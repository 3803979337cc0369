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
export const TIDE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];

// Hardhat network for `npm run bench`: the stock `hardhat node` (automine, one
// transaction per block) on the same chain id, hardfork and dev accounts as Conclave,
// in its fastest documented configuration: per-request logging off (on, it slows the
// node about 2.5x).
const os = require("node:os");
const path = require("node:path");

/** @type {import("hardhat/config").HardhatUserConfig} */
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      hardfork: "prague",
      allowUnlimitedContractSize: false,
      mining: { auto: true, interval: 0 },
      loggingEnabled: false,
    },
  },
  paths: {
    // Keep hardhat's cache out of the repository.
    cache: process.env.BENCH_HARDHAT_CACHE || path.join(os.tmpdir(), "conclave-bench-hardhat-cache"),
  },
};

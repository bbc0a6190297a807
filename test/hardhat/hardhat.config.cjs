// Minimal Hardhat 2 project for exercising a Conclave node with stock tooling.
//
//   cd test/hardhat
//   CONCLAVE_RPC_URL=http://127.0.0.1:8545 ../../node_modules/.bin/hardhat run scripts/deploy.cjs --network conclave
//   CONCLAVE_RPC_URL=http://127.0.0.1:8545 ../../node_modules/.bin/hardhat test --network conclave
//
// The suite in test/ is an ordinary developer's suite (hardhat-network-helpers,
// hardhat-chai-matchers); it passes unchanged on Hardhat's in-process network.
//
// Works offline: Hardhat normally downloads solc from binaries.soliditylang.org;
// here the TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD subtask is overridden (the
// documented Hardhat 2 pattern) to use the solc-js build shipped in the repo's
// node_modules/solc instead.
require("@nomicfoundation/hardhat-ethers");
require("@nomicfoundation/hardhat-chai-matchers");
const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");

const SOLC_VERSION = require("solc/package.json").version;
const MNEMONIC = "test test test test test test test test test test test junk";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) {
    // Any other version would need a download, which is impossible here.
    return runSuper();
  }
  const compilerPath = require.resolve("solc/soljson.js");
  // Long version such as "0.8.37+commit.f401782d" (strip ".Emscripten.clang").
  const longVersion = require("solc").version().replace(/\.Emscripten\.clang$/, "");
  return { compilerPath, isSolcJs: true, version: args.solcVersion, longVersion };
});

/** @type {import("hardhat/config").HardhatUserConfig} */
module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      // Explicit: solc >= 0.8.30 defaults to osaka, which a Prague node rejects.
      evmVersion: "prague",
      optimizer: { enabled: true, runs: 200 },
    },
  },
  defaultNetwork: "hardhat",
  // Hardhat's default (40 s) is for its in-process network; a remote node gets more room.
  mocha: { timeout: 120_000 },
  networks: {
    hardhat: {
      hardfork: "prague",
      accounts: { mnemonic: MNEMONIC },
    },
    conclave: {
      url: process.env.CONCLAVE_RPC_URL ?? "http://127.0.0.1:8545",
      // The node's own dev accounts (eth_accounts, eth_sendTransaction), as Hardhat's
      // `localhost` network uses: a locally signing provider refuses to send from an
      // impersonated address (HH103), so impersonation needs the node to send.
      accounts: "remote",
      timeout: 60_000,
    },
  },
};

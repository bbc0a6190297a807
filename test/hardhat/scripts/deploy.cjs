// Deploys Counter, calls increment(), reads count() back and prints one JSON
// line: {"address":"0x...","count":1}. Exits non-zero on any failure.
//
//   CONCLAVE_RPC_URL=http://127.0.0.1:8545 ../../node_modules/.bin/hardhat run scripts/deploy.cjs --network conclave
const hre = require("hardhat");

async function main() {
  const { ethers } = hre;
  const [signer] = await ethers.getSigners();

  const Counter = await ethers.getContractFactory("Counter", signer);
  const counter = await Counter.deploy();
  await counter.waitForDeployment();
  const address = await counter.getAddress();

  const code = await ethers.provider.getCode(address);
  if (code === "0x") throw new Error(`no code at ${address} after deployment`);

  const tx = await counter.increment();
  const receipt = await tx.wait();
  if (!receipt || receipt.status !== 1) throw new Error(`increment() failed: ${JSON.stringify(receipt)}`);
  const events = receipt.logs
    .map((log) => {
      try {
        return counter.interface.parseLog(log);
      } catch {
        return null;
      }
    })
    .filter((e) => e && e.name === "Incremented");
  if (events.length !== 1 || events[0].args.newCount !== 1n) {
    throw new Error(`expected one Incremented(…, 1) event, got ${events.length}`);
  }

  const count = await counter.count();
  if (count !== 1n) throw new Error(`count() returned ${count}, expected 1`);

  console.log(JSON.stringify({ address, count: Number(count) }));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

const { loadFixture, mine } = require("@nomicfoundation/hardhat-network-helpers");
const { expect } = require("chai");
const { ethers, network } = require("hardhat");

describe("BlockHashReader", function () {
  async function deployReaderFixture() {
    const reader = await ethers.deployContract("BlockHashReader");
    return { reader };
  }

  /** The block's hash as the node reports it in eth_getBlockByNumber. */
  async function hashOf(number) {
    const block = await ethers.provider.send("eth_getBlockByNumber", [ethers.toQuantity(number), false]);
    expect(block, `block ${number}`).to.not.equal(null);
    return block.hash;
  }

  it("reads recent hashes with BLOCKHASH", async function () {
    const { reader } = await loadFixture(deployReaderFixture);
    await mine(300);
    for (const depth of [1, 2, 100, 256]) {
      const [number, hash] = await reader.recentHash(depth);
      expect(hash).to.equal(await hashOf(number), `depth ${depth}`);
    }
    // BLOCKHASH itself sees only the last 256 blocks.
    const [, tooOld] = await reader.recentHash(257);
    expect(tooOld).to.equal(ethers.ZeroHash);
  });

  describe("EIP-2935 history contract", function () {
    before(function () {
      // Hardhat 2's in-process network has the history contract's code but does not run
      // the per-block system call that fills it (NomicFoundation/hardhat#6226).
      if (network.name === "hardhat") this.skip();
    });

    it("reads blockhash(block.number - 8000) after mine(8201)", async function () {
      const { reader } = await loadFixture(deployReaderFixture);
      const start = await ethers.provider.getBlockNumber();
      await mine(8201);
      expect(await ethers.provider.getBlockNumber()).to.equal(start + 8201);

      const [number, hash] = await reader.historicHash(8000);
      expect(number).to.be.greaterThan(start);
      expect(hash).to.not.equal(ethers.ZeroHash);
      expect(hash).to.equal(await hashOf(number));
    });

    it("reads the same hash inside a transaction", async function () {
      const { reader } = await loadFixture(deployReaderFixture);
      await mine(8201);
      // The transaction is mined in the next block.
      const number = (await ethers.provider.getBlockNumber()) + 1 - 8000;
      await expect(reader.record(8000)).to.emit(reader, "HashRecorded").withArgs(number, await hashOf(number));
    });

    it("agrees with BLOCKHASH on recent blocks", async function () {
      const { reader } = await loadFixture(deployReaderFixture);
      await mine(300);
      for (const depth of [1, 2, 100, 256]) {
        const [number, hash] = await reader.recentHash(depth);
        const [historicNumber, historic] = await reader.historicHash(depth);
        expect(historicNumber).to.equal(number);
        expect(historic).to.equal(hash, `depth ${depth}`);
      }
    });

    it("reverts for a block older than its 8191-block window", async function () {
      const { reader } = await loadFixture(deployReaderFixture);
      await mine(8300);
      const number = (await ethers.provider.getBlockNumber()) + 1 - 8192;
      await expect(reader.record(8192)).to.be.revertedWithCustomError(reader, "HistoryUnavailable").withArgs(number);
    });
  });
});

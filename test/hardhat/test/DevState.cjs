const {
  loadFixture,
  mine,
  setBalance,
  setCode,
  setNonce,
  setStorageAt,
  takeSnapshot,
  time,
} = require("@nomicfoundation/hardhat-network-helpers");
const { expect } = require("chai");
const { ethers } = require("hardhat");

describe("Changing state directly (setCode, setStorageAt, setBalance, snapshots)", function () {
  async function deployCounterFixture() {
    const [owner, alice] = await ethers.getSigners();
    const counter = await ethers.deployContract("Counter");
    await (await counter.increment()).wait();
    return { counter, owner, alice };
  }

  it("setStorageAt writes a contract's storage slot", async function () {
    const { counter } = await loadFixture(deployCounterFixture);
    await setStorageAt(await counter.getAddress(), 0, 42);
    expect(await counter.count()).to.equal(42);
  });

  it("setCode places a contract's runtime code at a new address", async function () {
    const { counter, owner } = await loadFixture(deployCounterFixture);
    const target = ethers.Wallet.createRandom().address;
    await setCode(target, await ethers.provider.getCode(counter));
    const copy = await ethers.getContractAt("Counter", target);
    expect(await copy.count()).to.equal(0);
    await expect(copy.increment()).to.emit(copy, "Incremented").withArgs(owner.address, 1);
    expect(await counter.count()).to.equal(1);
  });

  it("setBalance and setNonce change an account", async function () {
    const { alice } = await loadFixture(deployCounterFixture);
    await setBalance(alice.address, 12345n);
    expect(await ethers.provider.getBalance(alice)).to.equal(12345n);
    await setNonce(alice.address, 100);
    expect(await ethers.provider.getTransactionCount(alice)).to.equal(100);
  });

  it("takeSnapshot / restore rewinds state, blocks and time, more than once", async function () {
    const { counter } = await loadFixture(deployCounterFixture);
    const snapshot = await takeSnapshot();
    const block = await time.latestBlock();
    const now = await time.latest();

    await (await counter.increment()).wait();
    await time.increase(3600);
    await mine(10);
    expect(await counter.count()).to.equal(2);

    await snapshot.restore();
    expect(await counter.count()).to.equal(1);
    expect(await time.latestBlock()).to.equal(block);
    expect(await time.latest()).to.equal(now);

    await (await counter.increment()).wait();
    await snapshot.restore();
    expect(await counter.count()).to.equal(1);
  });

  it("mine(n, { interval }) advances blocks and time", async function () {
    await loadFixture(deployCounterFixture);
    const block = await time.latestBlock();
    const now = await time.latest();
    await mine(100, { interval: 60 });
    expect(await time.latestBlock()).to.equal(block + 100);
    expect(await time.latest()).to.be.at.least(now + 99 * 60);
  });

  it("starts every test from the fixture's state", async function () {
    const { counter } = await loadFixture(deployCounterFixture);
    expect(await counter.count()).to.equal(1);
  });
});

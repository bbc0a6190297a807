const { loadFixture, time } = require("@nomicfoundation/hardhat-network-helpers");
const { anyValue } = require("@nomicfoundation/hardhat-chai-matchers/withArgs");
const { expect } = require("chai");
const { ethers } = require("hardhat");

describe("Lock", function () {
  const ONE_YEAR = 365 * 24 * 60 * 60;
  const LOCKED = ethers.parseEther("1");

  async function deployOneYearLockFixture() {
    const [owner, other] = await ethers.getSigners();
    const unlockTime = (await time.latest()) + ONE_YEAR;
    const lock = await ethers.deployContract("Lock", [unlockTime], { value: LOCKED });
    return { lock, unlockTime, owner, other };
  }

  describe("Deployment", function () {
    it("sets the unlock time and the owner", async function () {
      const { lock, unlockTime, owner } = await loadFixture(deployOneYearLockFixture);
      expect(await lock.unlockTime()).to.equal(unlockTime);
      expect(await lock.owner()).to.equal(owner.address);
    });

    it("holds the ether sent at deployment", async function () {
      const { lock } = await loadFixture(deployOneYearLockFixture);
      expect(await ethers.provider.getBalance(lock)).to.equal(LOCKED);
    });

    it("refuses an unlock time that is not in the future", async function () {
      const latest = await time.latest();
      const Lock = await ethers.getContractFactory("Lock");
      await expect(Lock.deploy(latest, { value: 1 })).to.be.revertedWith("Unlock time should be in the future");
    });
  });

  describe("Withdrawals", function () {
    it("reverts with TooEarly before the unlock time", async function () {
      const { lock, unlockTime } = await loadFixture(deployOneYearLockFixture);
      await expect(lock.withdraw()).to.be.revertedWithCustomError(lock, "TooEarly").withArgs(anyValue, unlockTime);
    });

    it("still reverts one minute before the unlock time", async function () {
      const { lock, unlockTime } = await loadFixture(deployOneYearLockFixture);
      const now = await time.increase(ONE_YEAR - 120);
      expect(now).to.equal(await time.latest());
      expect(unlockTime - now).to.be.within(1, 120);
      await expect(lock.withdraw()).to.be.revertedWithCustomError(lock, "TooEarly").withArgs(anyValue, unlockTime);
    });

    it("reverts for anyone but the owner once unlocked", async function () {
      const { lock, unlockTime, other } = await loadFixture(deployOneYearLockFixture);
      await time.increaseTo(unlockTime);
      expect(await time.latest()).to.equal(unlockTime);
      await expect(lock.connect(other).withdraw()).to.be.revertedWith("You aren't the owner");
    });

    it("lets the owner withdraw once unlocked", async function () {
      const { lock, unlockTime } = await loadFixture(deployOneYearLockFixture);
      await time.increaseTo(unlockTime);
      await expect(lock.withdraw()).not.to.be.reverted;
    });

    it("emits Withdrawal", async function () {
      const { lock, unlockTime } = await loadFixture(deployOneYearLockFixture);
      await time.increaseTo(unlockTime);
      await expect(lock.withdraw()).to.emit(lock, "Withdrawal").withArgs(LOCKED, anyValue);
    });

    it("pays the locked ether to the owner", async function () {
      const { lock, unlockTime, owner } = await loadFixture(deployOneYearLockFixture);
      await time.increaseTo(unlockTime);
      await expect(lock.withdraw()).to.changeEtherBalances([owner, lock], [LOCKED, -LOCKED]);
    });

    it("pays the owner when withdrawn long after the unlock time", async function () {
      const { lock, owner } = await loadFixture(deployOneYearLockFixture);
      await time.increase(2 * ONE_YEAR);
      await expect(lock.withdraw()).to.changeEtherBalance(owner, LOCKED);
    });
  });
});

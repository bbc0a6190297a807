const { loadFixture } = require("@nomicfoundation/hardhat-network-helpers");
const { expect } = require("chai");
const { ethers } = require("hardhat");

describe("Token", function () {
  const INITIAL_SUPPLY = ethers.parseEther("1000");

  async function deployTokenFixture() {
    const [owner, alice, bob] = await ethers.getSigners();
    const treasury = await ethers.deployContract("Treasury");
    const token = await ethers.deployContract("Token", [await treasury.getAddress(), INITIAL_SUPPLY]);
    return { token, treasury, owner, alice, bob };
  }

  describe("Deployment", function () {
    it("mints the initial supply to the deployer", async function () {
      const { token, owner } = await loadFixture(deployTokenFixture);
      expect(await token.totalSupply()).to.equal(INITIAL_SUPPLY);
      expect(await token.balanceOf(owner)).to.equal(INITIAL_SUPPLY);
    });

    it("makes the treasury the minter", async function () {
      const { token, treasury } = await loadFixture(deployTokenFixture);
      expect(await token.minter()).to.equal(await treasury.getAddress());
    });
  });

  describe("Transfers", function () {
    it("moves tokens between accounts", async function () {
      const { token, owner, alice, bob } = await loadFixture(deployTokenFixture);
      await expect(token.transfer(alice, 50)).to.changeTokenBalances(token, [owner, alice], [-50, 50]);
      await expect(token.connect(alice).transfer(bob, 20)).to.changeTokenBalances(token, [alice, bob], [-20, 20]);
    });

    it("emits Transfer", async function () {
      const { token, owner, alice } = await loadFixture(deployTokenFixture);
      await expect(token.transfer(alice, 50)).to.emit(token, "Transfer").withArgs(owner.address, alice.address, 50);
    });

    it("starts every test from the fixture's state", async function () {
      const { token, alice } = await loadFixture(deployTokenFixture);
      expect(await token.balanceOf(alice)).to.equal(0);
    });

    it("reverts a transfer above the balance with ERC20InsufficientBalance", async function () {
      const { token, alice, bob } = await loadFixture(deployTokenFixture);
      await expect(token.connect(alice).transfer(bob, 1))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance")
        .withArgs(alice.address, 0, 1);
    });
  });

  describe("Minting", function () {
    it("refuses a mint from anyone but the treasury", async function () {
      const { token, owner, alice } = await loadFixture(deployTokenFixture);
      await expect(token.connect(alice).mint(alice, 1)).to.be.revertedWithCustomError(token, "NotMinter").withArgs(alice.address);
      await expect(token.mint(owner, 1)).to.be.revertedWithCustomError(token, "NotMinter").withArgs(owner.address);
    });
  });
});

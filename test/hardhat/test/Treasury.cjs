const {
  impersonateAccount,
  loadFixture,
  setBalance,
  stopImpersonatingAccount,
} = require("@nomicfoundation/hardhat-network-helpers");
const { expect } = require("chai");
const { ethers } = require("hardhat");

describe("Treasury (impersonating a contract address)", function () {
  async function deployTreasuryFixture() {
    const [owner, alice] = await ethers.getSigners();
    const treasury = await ethers.deployContract("Treasury");
    const token = await ethers.deployContract("Token", [await treasury.getAddress(), ethers.parseEther("1000")]);
    return { treasury, token, owner, alice };
  }

  it("receives ether", async function () {
    const { treasury, owner } = await loadFixture(deployTreasuryFixture);
    const value = ethers.parseEther("2");
    const tx = owner.sendTransaction({ to: treasury, value });
    await expect(tx).to.emit(treasury, "Received").withArgs(owner.address, value);
    await expect(tx).to.changeEtherBalances([owner, treasury], [-value, value]);
  });

  it("mints from the treasury's own address once impersonated", async function () {
    const { treasury, token, alice } = await loadFixture(deployTreasuryFixture);
    const address = await treasury.getAddress();
    // A contract has no key and no ether for gas: fund it, then impersonate it.
    await setBalance(address, ethers.parseEther("10"));
    await impersonateAccount(address);
    const signer = await ethers.getSigner(address);

    await expect(token.connect(signer).mint(alice, 500)).to.changeTokenBalances(token, [alice], [500]);
    await expect(token.connect(signer).mint(alice, 7)).to.emit(token, "Transfer").withArgs(ethers.ZeroAddress, alice.address, 7);
    await stopImpersonatingAccount(address);
  });

  it("sends ether from the treasury's address with getImpersonatedSigner", async function () {
    const { treasury, alice } = await loadFixture(deployTreasuryFixture);
    const address = await treasury.getAddress();
    await setBalance(address, ethers.parseEther("10"));
    const signer = await ethers.getImpersonatedSigner(address);

    const value = ethers.parseEther("1");
    await expect(signer.sendTransaction({ to: alice, value })).to.changeEtherBalances([address, alice], [-value, value]);
    await stopImpersonatingAccount(address);
  });

  it("no longer sends once impersonation stops", async function () {
    const { treasury, alice } = await loadFixture(deployTreasuryFixture);
    const address = await treasury.getAddress();
    await setBalance(address, ethers.parseEther("10"));
    await impersonateAccount(address);
    await stopImpersonatingAccount(address);
    const signer = await ethers.getSigner(address);
    await expect(signer.sendTransaction({ to: alice, value: 1 })).to.be.rejected;
  });

  it("starts every test without the previous tests' mints", async function () {
    const { token, alice } = await loadFixture(deployTreasuryFixture);
    expect(await token.balanceOf(alice)).to.equal(0);
  });
});

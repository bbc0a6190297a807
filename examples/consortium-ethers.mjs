// Signs in to a Conclave node with Sign-In with Ethereum (EIP-4361) using ethers alone,
// then reads as that identity: a ConfidentialERC20 balance, a transfer's receipt and
// its transaction input, each as the node decides for this caller.
//
//   KEY=0x… RPC=http://127.0.0.1:8545 node examples/consortium-ethers.mjs <token> <transfer tx hash>
//
// The walkthrough (examples/consortium-walkthrough.sh) runs it as Bob, the recipient.
import { Contract, JsonRpcProvider, Wallet } from 'ethers';

const [token, txHash] = process.argv.slice(2);
if (!process.env.KEY || !token || !txHash) {
  console.error('usage: KEY=0x… [RPC=http://127.0.0.1:8545] node examples/consortium-ethers.mjs <token> <tx hash>');
  process.exit(2);
}
const rpc = (process.env.RPC ?? 'http://127.0.0.1:8545').replace(/\/$/, '');
const wallet = new Wallet(process.env.KEY);

// 1. A nonce from the node, the EIP-4361 message, a personal_sign signature, a session.
const anonymous = new JsonRpcProvider(rpc);
const { chainId } = await anonymous.getNetwork();
const nonce = await anonymous.send('conclave_nonce', []);
const message = [
  `${new URL(rpc).host} wants you to sign in with your Ethereum account:`,
  wallet.address,
  '',
  'Sign in to read my confidential data.',
  '',
  `URI: ${rpc}`,
  'Version: 1',
  `Chain ID: ${chainId}`,
  `Nonce: ${nonce}`,
  `Issued At: ${new Date().toISOString()}`,
].join('\n');
const login = await anonymous.send('conclave_login', [message, await wallet.signMessage(message)]);
anonymous.destroy();
console.log(`signed in as ${login.address} until ${new Date(Number(login.expiresAt) * 1000).toISOString()}`);

// 2. The session URL carries the token: reads now run as this identity (msg.sender).
const session = new JsonRpcProvider(`${rpc}/s/${login.token}`);
const signer = wallet.connect(session);
const erc20 = new Contract(token, ['function balanceOf(address) view returns (uint256)'], signer);
console.log(`balanceOf(${wallet.address}): ${await erc20.balanceOf(wallet.address)}`);
const receipt = await session.getTransactionReceipt(txHash);
console.log(`the transfer's receipt: status ${receipt.status}, ${receipt.logs.length} log(s) visible`);
const tx = await session.getTransaction(txHash);
console.log(`the transfer's input: ${tx.data}`);

// 3. Logging out revokes the token (and ends its filters and subscriptions).
await session.send('conclave_logout', []);
session.destroy();

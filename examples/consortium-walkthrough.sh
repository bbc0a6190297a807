#!/usr/bin/env bash
# The confidential consortium, end to end, with Foundry's cast and ethers: sign in with
# Sign-In with Ethereum (EIP-4361), deploy the ConfidentialERC20 under its policy
# registered in advance, transfer, and see what the recipient, a third user, the auditor
# and an anonymous caller each get. Start the node first:
#
#   npm start -- --genesis examples/consortium.json --data ./data-consortium
#
# then run this from anywhere: bash examples/consortium-walkthrough.sh
# RPC (default http://127.0.0.1:8545) names the node; CAST the cast binary (default: cast).
# The keys below are examples/consortium.json's identities: accounts of the public test
# mnemonic, for this example network only.
set -euo pipefail
cd "$(dirname "$0")/.."

RPC=${RPC:-http://127.0.0.1:8545}
RPC=${RPC%/}
CAST=${CAST:-cast}
ALICE_KEY=0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6   # user, Org A
BOB_KEY=0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a     # user, Org B
CAROL_KEY=0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba   # user, Org C
AUDITOR_KEY=0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356 # auditor
POLICY_REGISTRY=0x0000000000000000000000000000000000000c02
ALICE=$($CAST wallet address --private-key $ALICE_KEY)
BOB=$($CAST wallet address --private-key $BOB_KEY)
CAROL=$($CAST wallet address --private-key $CAROL_KEY)
AUDITOR=$($CAST wallet address --private-key $AUDITOR_KEY)

# Signs in with SIWE and prints the session's token. cast has no SIWE command, so: a
# nonce from the node, the EIP-4361 message text (its domain is the host:port the node
# is reached at), a personal_sign signature with `cast wallet sign`, and conclave_login.
login() {
  local key=$1 address nonce message signature
  address=$($CAST wallet address --private-key "$key")
  nonce=$($CAST rpc --rpc-url "$RPC" conclave_nonce | tr -d '"')
  message="${RPC#*://} wants you to sign in with your Ethereum account:
$address


URI: $RPC
Version: 1
Chain ID: $($CAST chain-id --rpc-url "$RPC")
Nonce: $nonce
Issued At: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  signature=$($CAST wallet sign --private-key "$key" "$message")
  $CAST rpc --rpc-url "$RPC" conclave_login "$message" "$signature" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}

echo "== Alice signs in with cast"
ALICE_RPC=$RPC/s/$(login $ALICE_KEY)
echo "Alice's session URL: $RPC/s/<token>"

echo "== Alice registers the token's policy for the address her next deployment gets, then deploys"
NONCE=$($CAST nonce --rpc-url "$ALICE_RPC" $ALICE)
TOKEN=$($CAST compute-address --nonce $((NONCE + 1)) $ALICE | awk '{print $NF}')
$CAST send --rpc-url "$ALICE_RPC" --private-key $ALICE_KEY $POLICY_REGISTRY \
  'setPolicy(address,string)' $TOKEN "$(cat examples/confidential-erc20.policy.json)" > /dev/null
[ -f contracts/artifacts/ConfidentialERC20.json ] || npm run compile --silent
BYTECODE=$(node -p "require('./contracts/artifacts/ConfidentialERC20.json').bytecode")
$CAST send --rpc-url "$ALICE_RPC" --private-key $ALICE_KEY \
  --create $BYTECODE 'constructor(string,string,uint256)' Secret SEC 1000000 > /dev/null
echo "token: $TOKEN"
echo "its policy hash (policies are public): $($CAST rpc --rpc-url "$RPC" conclave_getPolicy $TOKEN | sed -n 's/.*"hash":"\(0x[0-9a-f]*\)".*/\1/p')"

echo "== Alice transfers 250 to Bob"
TX=$($CAST send --async --rpc-url "$ALICE_RPC" --private-key $ALICE_KEY $TOKEN 'transfer(address,uint256)' $BOB 250)
echo "transfer: $TX, status $($CAST receipt --rpc-url "$ALICE_RPC" $TX status)"
echo "Alice's balance, as Alice: $($CAST call --rpc-url "$ALICE_RPC" $TOKEN 'balanceOf(address)(uint256)' $ALICE)"

echo "== Bob, the recipient, signs in with ethers (examples/consortium-ethers.mjs)"
KEY=$BOB_KEY RPC=$RPC node examples/consortium-ethers.mjs $TOKEN $TX

echo "== Carol, a third user, signs in with cast"
CAROL_RPC=$RPC/s/$(login $CAROL_KEY)
echo "balanceOf(Bob), as Carol: $($CAST call --rpc-url "$CAROL_RPC" $TOKEN 'balanceOf(address)(uint256)' $BOB 2>&1 | head -1 || true)"
echo "the transfer's logs, as Carol: $($CAST receipt --rpc-url "$CAROL_RPC" $TX logs)"
echo "the transfer's input, as Carol: $($CAST tx --rpc-url "$CAROL_RPC" $TX input)"

echo "== The auditor signs in with cast"
AUDITOR_RPC=$RPC/s/$(login $AUDITOR_KEY)
echo "balanceOf(Bob), as the auditor: $($CAST call --rpc-url "$AUDITOR_RPC" $TOKEN 'balanceOf(address)(uint256)' $BOB)"
echo "the transfer's logs, as the auditor: $($CAST receipt --rpc-url "$AUDITOR_RPC" $TX logs | cut -c1-90)…"
echo "the transfer's input, as the auditor: $($CAST tx --rpc-url "$AUDITOR_RPC" $TX input)"

echo "== Without a session"
echo "balanceOf(Bob), anonymous: $($CAST call --rpc-url "$RPC" $TOKEN 'balanceOf(address)(uint256)' $BOB 2>&1 | head -1 || true)"
echo "the transfer's logs, anonymous: $($CAST receipt --rpc-url "$RPC" $TX logs)"
echo "the transfer's status, to anyone: $($CAST receipt --rpc-url "$RPC" $TX status)"

echo "== Carol logs out: her token is refused from now on"
$CAST rpc --rpc-url "$CAROL_RPC" conclave_logout > /dev/null
echo "a read with Carol's old token: $($CAST block-number --rpc-url "$CAROL_RPC" 2>&1 | head -1 || true)"

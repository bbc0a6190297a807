// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IIdentityRegistry, IDENTITY_REGISTRY, ROLE_AUDITOR} from "../system/IIdentityRegistry.sol";

/// @title ConfidentialERC20
/// @notice An ERC20 whose balances and allowances are readable only by those they concern
///         and by the network's auditors. On Conclave msg.sender of a read is the caller's
///         authenticated identity, so these checks are trustworthy without any change to the
///         ERC20 ABI; the contract's policy (examples/confidential-erc20.policy.json) keeps
///         its transaction input, return data and events from everyone else.
/// @dev The whole initial supply is minted to the deployer.
contract ConfidentialERC20 is ERC20 {
    /// @notice `caller` may not read the balance or allowance it asked for.
    error UnauthorizedReader(address caller);

    /// @notice A transfer's note, copied to `cc`: `cc` is named in the event's data only (not a topic).
    event Memo(address indexed from, address cc, string note);

    /// @notice Creates the token and mints `initialSupply` to the deployer.
    /// @param name_ The token's name.
    /// @param symbol_ The token's symbol.
    /// @param initialSupply The amount minted to msg.sender (in the smallest unit).
    constructor(string memory name_, string memory symbol_, uint256 initialSupply) ERC20(name_, symbol_) {
        _mint(msg.sender, initialSupply);
    }

    /// @notice The balance of `account`, for `account` itself or an auditor; anyone else is refused.
    /// @param account The holder asked about.
    /// @return The holder's balance.
    function balanceOf(address account) public view override returns (uint256) {
        if (msg.sender != account && !_isAuditor(msg.sender)) revert UnauthorizedReader(msg.sender);
        return super.balanceOf(account);
    }

    /// @notice What `spender` may still spend of `owner`'s tokens, for either of them or an auditor.
    /// @dev transferFrom reads it through _spendAllowance with msg.sender = spender, which passes.
    /// @param owner The holder who approved.
    /// @param spender The account approved to spend.
    /// @return The remaining allowance.
    function allowance(address owner, address spender) public view override returns (uint256) {
        if (msg.sender != owner && msg.sender != spender && !_isAuditor(msg.sender)) {
            revert UnauthorizedReader(msg.sender);
        }
        return super.allowance(owner, spender);
    }

    /// @notice Whether `account` holds the auditor role in the network's identity registry.
    /// @notice Transfers `amount` to `to` and records a note for `cc` (who, by the policy, may read it).
    function transferWithMemo(address to, uint256 amount, address cc, string calldata note) external returns (bool) {
        _transfer(msg.sender, to, amount);
        emit Memo(msg.sender, cc, note);
        return true;
    }

    function _isAuditor(address account) private view returns (bool) {
        return IIdentityRegistry(IDENTITY_REGISTRY).hasRole(account, ROLE_AUDITOR);
    }
}

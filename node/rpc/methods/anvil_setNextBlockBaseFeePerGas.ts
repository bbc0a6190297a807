import { setNextBlockBaseFeePerGas } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** anvil_setNextBlockBaseFeePerGas: see node/rpc/devMethods.ts. */
export const anvil_setNextBlockBaseFeePerGas: MethodEntry<Services> = { ...setNextBlockBaseFeePerGas('anvil') };

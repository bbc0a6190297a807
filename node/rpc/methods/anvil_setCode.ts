import { setCode } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** anvil_setCode: see node/rpc/devMethods.ts. */
export const anvil_setCode: MethodEntry<Services> = { ...setCode('anvil') };

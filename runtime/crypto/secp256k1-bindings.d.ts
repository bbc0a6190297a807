// The native entry point of the secp256k1 package has the same API as its main module.
declare module 'secp256k1/bindings.js' {
  import secp256k1 from 'secp256k1';
  export default secp256k1;
}

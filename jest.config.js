// Jest runs TypeScript as native ESM (node --experimental-vm-modules): @kubernetes/client-node is ESM-only.
// ts-jest only transpiles here; `make typecheck` runs the full type check once for the whole tree.
const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: false }],
};
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform,
  // Sources import './x.js' (NodeNext); map those to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
  // The local cluster's state (containerd snapshots hold copies of this repository's package.json files) is no source.
  modulePathIgnorePatterns: ['<rootDir>/\\.cluster/'],
};

/** @type {import('jest').Config} */
export default {
  projects: [
    {
      ...common,
      displayName: 'unit',
      // Pure logic, colocated with the code it tests. No cluster, no network.
      testMatch: [
        '<rootDir>/{operator,server-image,cluster,scripts}/src/**/*.test.ts',
        '<rootDir>/scripts/**/*.test.ts',
      ],
    },
    {
      ...common,
      displayName: 'server',
      // The serving runtime: real onnxruntime sessions, real HTTP on loopback.
      testMatch: ['<rootDir>/server-image/test/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      setupFilesAfterEnv: ['<rootDir>/test/integration/setup-timeout.ts'],
      // A real kube-apiserver + etcd + kube-controller-manager, started once for the run.
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/integration/global-setup.js',
      globalTeardown: '<rootDir>/test/integration/global-teardown.js',
    },
    {
      ...common,
      displayName: 'e2e',
      // A real node (kubelet, containerd, kube-proxy, CoreDNS) with the project's own images: pods really run.
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/e2e/global-setup.js',
      globalTeardown: '<rootDir>/test/e2e/global-teardown.js',
      setupFilesAfterEnv: ['<rootDir>/test/e2e/setup-timeout.ts'],
    },
    {
      ...common,
      displayName: 'argocd',
      // Opt-in (make test-argocd, not make test): a real Argo CD, built once, syncs examples/gitops onto a real node.
      testMatch: ['<rootDir>/test/argocd/**/*.test.ts'],
      globalSetup: '<rootDir>/test/argocd/global-setup.js',
      globalTeardown: '<rootDir>/test/e2e/global-teardown.js',
      setupFilesAfterEnv: ['<rootDir>/test/e2e/setup-timeout.ts'],
    },
  ],
};

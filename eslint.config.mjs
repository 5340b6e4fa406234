// ESLint flat config: typescript-eslint's recommended rules over the TypeScript sources, plus
// the rules that keep the layout (docs/architecture.md, "Boundaries"): small files, and imports
// that only point the allowed way. Cycles are checked by madge in `npm run lint`.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'native/build/', 'native/node_modules/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // STYLE.md item 15: files under ~600 lines (tests may be longer).
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    ignores: ['test/**'],
    rules: { 'max-lines': ['error', { max: 600 }] },
  },
  {
    // shared/ is code both sides use: it never reaches into either side.
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/backend/*', '**/backend/**'], message: 'shared/ never imports backend/ (DESIGN §2).' },
            { group: ['**/frontend/*', '**/frontend/**'], message: 'shared/ never imports frontend/ (DESIGN §2).' },
          ],
        },
      ],
    },
  },
  {
    // The guest side never uses the dom0 side.
    files: ['frontend/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/backend/*', '**/backend/**'], message: 'frontend/ never imports backend/.' }] },
      ],
    },
  },
  {
    // Protocol-neutral backend code (display core, devices, updates, web, auth, input) never
    // imports RFB: VNC is one consumer of the display core, like SPICE and the recorder.
    files: ['backend/**/*.ts'],
    ignores: ['backend/vnc/**', 'backend/daemon.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/vnc/*', '**/vnc/**'],
              message: 'Only backend/vnc/ itself, the composition root (backend/daemon.ts) and the CLI may import backend/vnc/.',
            },
          ],
        },
      ],
    },
  },
);

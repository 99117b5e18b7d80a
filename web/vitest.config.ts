import { defineConfig } from 'vitest/config';

// Unit tests of the client's state handling: no server, no browser.
export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
  },
});

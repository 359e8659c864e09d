// Unit tests of the extension's logic in a simulated DOM (jsdom); no server, no browser.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'jsdom',
    include: ['test/**/*.test.ts'],
    restoreMocks: true,
    setupFiles: ['test/setup.ts'],
    server: { deps: { inline: [/@jupyter\/web-components/] } }
  }
});

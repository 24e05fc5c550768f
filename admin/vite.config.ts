import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Served by the service at /admin (src/http/admin-app.ts); the API is on the same origin.
export default defineConfig({
  base: '/admin/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, reportCompressedSize: false },
});

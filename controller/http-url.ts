import { z } from 'zod';

/**
 * An absolute http:// or https:// URL with a host. `z.url()` alone takes `localhost:9090` (a
 * URL whose scheme is "localhost"), which then fails on every request instead of at start.
 */
export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an absolute http:// or https:// URL with a host (http://prometheus:9090)' });

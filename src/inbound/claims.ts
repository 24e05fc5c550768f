/** Staff action leases and confirmation-mail slots of inbound mail (claims: src/db/claims.ts). */
export const INBOUND_CLAIMS = 'inbound_claims';
/** Hard bounces per subscriber, one slot each; the privacy register erases it by `subscriberId`. */
export const BOUNCE_COUNTS = 'bounce_counts';

/** mongoose infers timestamp fields only for `timestamps: true`; ours take the injected clock. */
export interface Timestamps {
  createdAt: Date;
  updatedAt: Date;
}

/** A package cache of one image, language and version, as the API lists it. */
import { type Static, Type } from "@sinclair/typebox";

export const CacheFields = {
  language: Type.String({ minLength: 1, maxLength: 16, description: "Python or R." }),
  version: Type.String({ minLength: 1, maxLength: 64 }),
  image_name: Type.String({
    minLength: 1,
    maxLength: 512,
    description: 'The image the cache belongs to; "Local" for the server\'s own installations.',
  }),
};

export const RuntimeCache = Type.Object({
  ...CacheFields,
  size_bytes: Type.Integer({ description: "Slipway's extension: bytes on disk." }),
  entries: Type.Integer({ description: "Slipway's extension: package sets built into it." }),
  last_used_time: Type.Union([Type.String(), Type.Null()], {
    description: "Slipway's extension: when a build last made or reused one of its package sets.",
  }),
});
export type RuntimeCache = Static<typeof RuntimeCache>;

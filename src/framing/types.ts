/**
 * The shape every framing decoder shares: bytes in (chunks split anywhere), frames out through a callback.
 * A callback instead of returned arrays keeps the per-chunk path free of allocations when a chunk carries
 * no complete frame, which is most chunks of a slow stream.
 */
import type { Frame } from '../adapter.ts';

export type FrameHandler = (frame: Frame) => void;

export interface FrameDecoderOptions {
  /** Largest frame the decoder buffers; a bigger frame is skipped (counted in `droppedFrames`). */
  readonly maxFrameBytes: number;
  readonly onFrame: FrameHandler;
}

export interface FrameDecoder {
  /** Never throws on any input; malformed frames are skipped and counted. Exceptions from `onFrame` propagate. */
  push(chunk: Uint8Array): void;
  /**
   * The body ended. `clean` is true when every byte of the body arrived (so a final frame that merely lacks
   * its terminator is complete and may be emitted); false when it was cut, so a partial frame is discarded.
   */
  end(clean: boolean): void;
  /** Bytes held for the frame being assembled (never more than `maxFrameBytes` plus a small constant). */
  readonly bufferedBytes: number;
  /** Frames skipped: over the size limit, failed checksum, or unrecoverable garbage. */
  readonly droppedFrames: number;
}

//! How parallel work is cut into pieces, so that both threads of a 2-core machine finish
//! together.
//!
//! rayon splits a range further only when another thread steals from it. A thread that starts
//! a parallel loop while the other is busy elsewhere (the other side of a `join`, a slow page
//! fault) keeps its pieces, and may end up running a quarter of the loop on its own while the
//! other waits with nothing to steal (seen in perf timelines of a fleet render: 40-60 ms
//! tails). Capping the size of a piece keeps work to steal until the end.

/// The most items of a light, uniform loop (one object, one file) in one piece.
pub const PIECE: usize = 64;
/// For loops whose items are heavy (a run of hundreds of objects, a chunk of an index): every
/// item its own piece.
pub const HEAVY: usize = 1;

//! The live driver (real time, sockets); see `run`.
pub mod clock;

//! The command line: [`flags`] defined once and turned into settings, the
//! TOML [`config`] file merged under them, the socket [`client`], the
//! [`render`]ing of reports for people (table) and tools (CSV), the
//! self-contained [`html`] page and the
//! [`man`] pages generated from the flags.

pub mod client;
pub mod config;
pub mod flags;
pub mod html;
pub mod man;
pub mod render;

//! The command line: [`flags`] defined once and turned into settings, the
//! TOML [`config`] file merged under them, the socket [`client`], and the
//! [`render`]ing of reports for people (table) and tools (CSV).

pub mod client;
pub mod config;
pub mod flags;
pub mod render;

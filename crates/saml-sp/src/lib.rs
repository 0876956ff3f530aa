#![doc = include_str!("../README.md")]

pub mod c14n;
pub mod error;
pub mod xml;

pub use error::{Result, SamlError};

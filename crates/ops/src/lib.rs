//! The operation catalogue.

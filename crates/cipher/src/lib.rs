//! SQLCipher for every Doorstep database: the tablet's, its practice
//! databases and, where an office asks for it, the office's.
//!
//! Pages are AES-256 with an HMAC-SHA256 each ([`cipher_settings`]), under
//! a random 256-bit key made for one database and never typed by anyone
//! ([`DbKey`]). Where the key is kept is the caller's business (the tablet's
//! `KeyStore`s, the office's `--db-key-file`); this crate holds what both
//! need: the key itself, key files, telling a plain file from an encrypted
//! one, and moving a plain file into SQLCipher in place.
//!
//! **Invariants:** the key never appears in logs, `Debug` or error
//! messages, and reaches SQLite only through `PRAGMA key`. During
//! [`encrypt_in_place`] the database's path holds one whole database at
//! every moment, the old plain one or the new encrypted one.

mod key;
mod key_file;
mod migrate;

pub use key::{DbKey, cipher_default_settings, cipher_settings, sqlcipher_ready};
pub use key_file::{KeyFileError, erase_key_file, load_key_file, save_key_file};
pub use migrate::{
    EncryptError, FileKind, clear_leftovers, database_files, encrypt_in_place, encrypting_path, file_kind,
    open_keyed_connection, sync_parent, with_suffix,
};

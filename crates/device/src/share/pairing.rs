//! The pairing code a listening tablet shows: `doorstep-share:1:` then the
//! secret (32 hex digits) and `@` and the address (`192.168.1.5:47100`),
//! as text and as a QR code.

use std::net::SocketAddr;

use doorstep_core::protocol::share::PAIRING_PREFIX;
use qrcode::QrCode;
use qrcode::render::svg;

use super::ShareError;

/// Where a listening tablet is and the secret its exchange is sealed with.
#[derive(Clone, PartialEq, Eq)]
pub struct Pairing {
    /// Its address on the local network.
    pub addr: SocketAddr,
    /// The one-time secret.
    pub secret: [u8; 16],
}

impl std::fmt::Debug for Pairing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pairing")
            .field("addr", &self.addr)
            .field("secret", &"<hidden>")
            .finish()
    }
}

impl Pairing {
    /// A new secret for `addr`.
    pub fn new(addr: SocketAddr) -> Result<Pairing, ShareError> {
        let mut secret = [0u8; 16];
        getrandom::fill(&mut secret)
            .map_err(|e| crate::error::StoreError::Stored(format!("no randomness for a pairing secret: {e}")))?;
        Ok(Pairing { addr, secret })
    }

    /// The code's text (what the QR code holds).
    pub fn to_text(&self) -> String {
        format!("{PAIRING_PREFIX}{}@{}", hex::encode(self.secret), self.addr)
    }

    /// Reads a scanned or typed code.
    pub fn parse(text: &str) -> Result<Pairing, ShareError> {
        let text = text.trim();
        let rest = text
            .strip_prefix(PAIRING_PREFIX)
            .ok_or_else(|| ShareError::BadCode(format!("it does not start with {PAIRING_PREFIX}")))?;
        let (secret, addr) = rest
            .split_once('@')
            .ok_or_else(|| ShareError::BadCode("it has no address after the secret".to_owned()))?;
        let secret: [u8; 16] = hex::decode(secret)
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| ShareError::BadCode("its secret is not 32 hexadecimal digits".to_owned()))?;
        let addr: SocketAddr = addr
            .parse()
            .map_err(|_| ShareError::BadCode(format!("{addr:?} is not an address and port")))?;
        Ok(Pairing { addr, secret })
    }

    /// The code as a QR code in SVG, black on white, for the screen.
    pub fn qr_svg(&self) -> String {
        match QrCode::new(self.to_text().as_bytes()) {
            Ok(code) => code
                .render::<svg::Color<'_>>()
                .min_dimensions(240, 240)
                .quiet_zone(true)
                .build(),
            Err(_) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_back_and_bad_codes_say_why() {
        let p = Pairing {
            addr: "192.168.1.5:47100".parse().expect("addr"),
            secret: [7; 16],
        };
        assert_eq!(Pairing::parse(&p.to_text()).expect("parses"), p);
        assert!(p.qr_svg().starts_with("<?xml"));
        assert!(!format!("{p:?}").contains("0707"));
        for bad in [
            "hello",
            "doorstep-share:1:abcd@1.2.3.4:5",
            "doorstep-share:1:0707070707070707070707070707070707",
            "doorstep-share:1:07070707070707070707070707070707@nowhere",
        ] {
            assert!(matches!(Pairing::parse(bad), Err(ShareError::BadCode(_))), "{bad}");
        }
        let v6 = Pairing {
            addr: "[fe80::1]:47100".parse().expect("addr"),
            secret: [1; 16],
        };
        assert_eq!(Pairing::parse(&v6.to_text()).expect("parses"), v6);
    }
}

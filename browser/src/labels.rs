//! QR codes and labels: the terminal shows a device's public keys as a QR code, and reads a
//! label's QR code (or the typed ids) back into the three ids it carries.

use lasthop_core::label::{self, LabelIds};
use serde::Serialize;

/// Why a label or QR code could not be handled. Carries no scanned text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// The text does not fit a QR code.
    #[error("the text is too long for a QR code")]
    TooLong,
    /// The scanned code is not a lasthop label.
    #[error("this code is not a lasthop label")]
    NotALabel,
}

/// The ids of a label, as the page uses them (the contract's field names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScannedLabel {
    /// The shop.
    pub platform_id: String,
    /// The order.
    pub order_id: String,
    /// The buyer.
    pub buyer_id: String,
}

/// A QR code (SVG) for `text`.
///
/// # Errors
/// [`LabelError::TooLong`].
pub fn qr_svg(text: &str) -> Result<String, LabelError> {
    label::qr_svg(text).ok_or(LabelError::TooLong)
}

/// The ids of a scanned label's QR payload.
///
/// # Errors
/// [`LabelError::NotALabel`].
pub fn read_label(text: &str) -> Result<ScannedLabel, LabelError> {
    let ids = LabelIds::parse_payload(text).map_err(|_| LabelError::NotALabel)?;
    Ok(ScannedLabel {
        platform_id: ids.platform_id.to_string(),
        order_id: ids.order_id.to_string(),
        buyer_id: ids.buyer_id.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_payload_reads_back_as_its_ids_in_contract_form() {
        let read = read_label("lasthop:v1:demo:O_0123456789ABCDEF:b_fedcba9876543210").unwrap();
        assert_eq!(read.platform_id, "demo");
        assert_eq!(read.order_id, "o_0123456789abcdef");
        assert_eq!(read.buyer_id, "b_fedcba9876543210");
        assert_eq!(
            serde_json::to_value(&read).unwrap(),
            serde_json::json!({"platform_id":"demo","order_id":"o_0123456789abcdef","buyer_id":"b_fedcba9876543210"})
        );
    }

    #[test]
    fn anything_else_is_refused_without_echoing_it() {
        let err = read_label("WIFI:S:secret;").unwrap_err();
        assert_eq!(err, LabelError::NotALabel);
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn qr_codes_are_svg_and_refuse_overlong_text() {
        assert!(qr_svg("hello").unwrap().starts_with("<svg"));
        assert_eq!(qr_svg(&"x".repeat(5000)), Err(LabelError::TooLong));
    }
}

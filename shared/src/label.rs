//! The shipping label: an SVG with a QR code encoding `lasthop:v1:<platform>:<order>:<buyer>`
//! and the same three values printed as text, so a courier can type them when the code does
//! not scan, with the name of the order's carrier printed below them. Nothing else about the
//! buyer appears on a label.
//!
//! The same QR drawing serves any other short text ([`qr_svg`]: the terminal page shows a
//! device's public keys this way), and [`LabelIds::parse_payload`] reads a scanned code back.

use std::fmt::Write as _;

use qrcode::{Color, EcLevel, QrCode};

use crate::carrier::CarrierName;
use crate::ids::{BuyerId, OrderId, PlatformId};

/// Pixels per QR module.
const SCALE: usize = 6;
/// Quiet zone around the code, in modules (the QR standard asks for 4).
const QUIET: usize = 4;
const TEXT_LINE: usize = 22;
const MIN_WIDTH: usize = 380;

/// The text the QR code carries.
pub fn label_payload(platform: &PlatformId, order: &OrderId, buyer: &BuyerId) -> String {
    format!("lasthop:v1:{platform}:{order}:{buyer}")
}

/// The three ids a label carries, read back from its QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelIds {
    /// The shop.
    pub platform_id: PlatformId,
    /// The order.
    pub order_id: OrderId,
    /// The buyer.
    pub buyer_id: BuyerId,
}

/// A scanned text that is not a lasthop label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this code is not a lasthop label")]
pub struct NotALabel;

impl LabelIds {
    /// Reads `lasthop:v1:<platform>:<order>:<buyer>` (surrounding white space ignored).
    ///
    /// # Errors
    /// [`NotALabel`] for any other text, or ids that do not parse.
    pub fn parse_payload(text: &str) -> Result<Self, NotALabel> {
        let rest = text.trim().strip_prefix("lasthop:v1:").ok_or(NotALabel)?;
        let mut parts = rest.split(':');
        let (Some(platform), Some(order), Some(buyer), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(NotALabel);
        };
        Ok(Self {
            platform_id: PlatformId::parse(platform).map_err(|_| NotALabel)?,
            order_id: OrderId::parse(order).map_err(|_| NotALabel)?,
            buyer_id: BuyerId::parse(buyer).map_err(|_| NotALabel)?,
        })
    }
}

/// A standalone SVG of a QR code (level M) for `text`, or `None` when the text is too long
/// for a QR code.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let size = (code.width() + 2 * QUIET) * SCALE;
    let mut svg = white_sheet(size, size);
    draw_modules(&mut svg, &code, QUIET * SCALE);
    svg.push_str("</svg>");
    Some(svg)
}

/// An open SVG document of `width` × `height` pixels on a white background.
fn white_sheet(width: usize, height: usize) -> String {
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
    );
    let _ = write!(
        svg,
        r#"<rect width="{width}" height="{height}" fill="white"/>"#
    );
    svg
}

/// Appends the dark modules of `code` as one black path, its top-left module at
/// (`left`, quiet zone).
fn draw_modules(svg: &mut String, code: &QrCode, left: usize) {
    let modules = code.width();
    svg.push_str(r#"<path fill="black" d=""#);
    for (index, color) in code.to_colors().iter().enumerate() {
        if *color == Color::Dark {
            let x = left + (index % modules) * SCALE;
            let y = QUIET * SCALE + (index / modules) * SCALE;
            let _ = write!(svg, "M{x} {y}h{SCALE}v{SCALE}h-{SCALE}z");
        }
    }
    svg.push_str(r#""/>"#);
}

/// Renders the label as a standalone SVG document.
pub fn render_label_svg(
    platform: &PlatformId,
    order: &OrderId,
    buyer: &BuyerId,
    carrier: &CarrierName,
) -> String {
    let payload = label_payload(platform, order, buyer);
    // Ids are at most ~90 bytes together, far below QR capacity at level M, so encoding
    // succeeds; were it ever to fail, the label still carries the printed text.
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).ok();
    let modules = code.as_ref().map_or(0, QrCode::width);
    let qr_size = (modules + 2 * QUIET) * SCALE;
    let width = qr_size.max(MIN_WIDTH);
    let height = qr_size + 4 * TEXT_LINE + 16;
    let offset = (width - qr_size) / 2 + QUIET * SCALE;

    let mut svg = white_sheet(width, height);
    if let Some(code) = &code {
        draw_modules(&mut svg, code, offset);
    }
    let lines = [
        ("platform", platform.as_str()),
        ("order", order.as_str()),
        ("buyer", buyer.as_str()),
        ("carrier", carrier.as_str()),
    ];
    for (i, (name, value)) in lines.iter().enumerate() {
        let y = qr_size + (i + 1) * TEXT_LINE;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{y}" font-family="monospace" font-size="16" fill="black">{name}: {}</text>"#,
            QUIET * SCALE / 2,
            escape(value)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Ids are slug or base32 characters and carrier names are free text: the SVG must stay
/// well-formed.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (PlatformId, OrderId, BuyerId) {
        (
            PlatformId::parse("demo").unwrap(),
            OrderId::parse("o_0123456789abcdef").unwrap(),
            BuyerId::parse("b_fedcba9876543210").unwrap(),
        )
    }

    #[test]
    fn label_prints_the_three_values_the_carrier_and_a_qr_code() {
        let (platform, order, buyer) = ids();
        let carrier = CarrierName::parse("S&F <Express>").unwrap();
        let svg = render_label_svg(&platform, &order, &buyer, &carrier);
        assert!(svg.contains("carrier: S&amp;F &lt;Express&gt;"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("platform: demo"));
        assert!(svg.contains("order: o_0123456789abcdef"));
        assert!(svg.contains("buyer: b_fedcba9876543210"));
        assert!(
            svg.contains("<path fill=\"black\" d=\"M"),
            "QR modules are drawn"
        );
        assert_eq!(svg.matches("<text").count(), 4, "nothing else is printed");
    }

    #[test]
    fn qr_payload_decodes_to_the_label_values() {
        let (platform, order, buyer) = ids();
        let payload = label_payload(&platform, &order, &buyer);
        assert_eq!(
            payload,
            "lasthop:v1:demo:o_0123456789abcdef:b_fedcba9876543210"
        );
        // The drawn modules are exactly the code's dark modules for this payload.
        let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).unwrap();
        let dark = code
            .to_colors()
            .iter()
            .filter(|c| **c == Color::Dark)
            .count();
        let svg = render_label_svg(
            &platform,
            &order,
            &buyer,
            &CarrierName::parse("YTO").unwrap(),
        );
        assert_eq!(svg.matches('M').count(), dark);
    }

    #[test]
    fn a_scanned_label_payload_gives_back_its_three_ids() {
        let (platform, order, buyer) = ids();
        let payload = label_payload(&platform, &order, &buyer);
        let read = LabelIds::parse_payload(&format!(" {payload}\n")).unwrap();
        assert_eq!(
            read,
            LabelIds {
                platform_id: platform,
                order_id: order,
                buyer_id: buyer
            }
        );
    }

    #[test]
    fn other_codes_are_not_labels() {
        for text in [
            "",
            "https://example.com",
            "lasthop:v2:demo:o_0123456789abcdef:b_fedcba9876543210",
            "lasthop:v1:demo:o_0123456789abcdef",
            "lasthop:v1:demo:o_0123456789abcdef:b_fedcba9876543210:x",
            "lasthop:v1:demo:b_fedcba9876543210:o_0123456789abcdef",
        ] {
            assert_eq!(LabelIds::parse_payload(text), Err(NotALabel), "{text}");
        }
    }

    #[test]
    fn any_short_text_gets_a_square_qr_code_and_overlong_text_none() {
        let svg = qr_svg("lasthop-device:v1:abc:def").unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<path fill=\"black\" d=\"M"));
        assert!(qr_svg(&"x".repeat(5000)).is_none());
    }
}

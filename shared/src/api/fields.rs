//! Shared field parsers: ids, platform slugs and opaque text, each naming its field.

use crate::ids::{
    AddressId, BuyerId, CarrierId, HubId, OrderId, PlatformId, ReleaseId, ScannerId, SellerId,
};

use super::errors::FieldError;

pub(crate) fn platform(field: &str, value: &str) -> Result<PlatformId, FieldError> {
    PlatformId::parse(value).map_err(|e| FieldError::from_id(field, &e))
}

macro_rules! id_parser {
    ($fn_name:ident, $ty:ty) => {
        pub(crate) fn $fn_name(field: &str, value: &str) -> Result<$ty, FieldError> {
            <$ty>::parse(value.trim()).map_err(|e| FieldError::from_id(field, &e))
        }
    };
}

id_parser!(order_id, OrderId);
id_parser!(buyer_id, BuyerId);
id_parser!(seller_id, SellerId);
id_parser!(address_id, AddressId);
id_parser!(hub_id, HubId);
id_parser!(scanner_id, ScannerId);
id_parser!(release_id, ReleaseId);
id_parser!(carrier_id, CarrierId);

/// Non-empty, at most `max` characters, no control characters.
pub(crate) fn opaque_text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    let count = trimmed.chars().count();
    if count == 0 || count > max {
        return Err(FieldError::new(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

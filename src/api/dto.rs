//! Types shared by several API files: domain enums mirrored on the wire, and the coordinate
//! system every request names.

use crate::domain::geo::CoordSystem;

/// Declares an API enum mirroring a domain enum variant for variant (snake_case on the wire),
/// with conversions both ways.
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $dto:ident = $domain:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
        #[oai(rename_all = "snake_case")]
        pub enum $dto { $($variant),+ }

        impl From<$domain> for $dto {
            fn from(v: $domain) -> Self {
                match v { $($domain::$variant => $dto::$variant),+ }
            }
        }

        impl From<$dto> for $domain {
            fn from(v: $dto) -> Self {
                match v { $($dto::$variant => $domain::$variant),+ }
            }
        }
    };
}
pub(crate) use mirror_enum;

mirror_enum!(
    /// A coordinate system: `gcj02` (phones in China, the mini-program map) or `wgs84` (GPS).
    CoordDto = CoordSystem { Gcj02, Wgs84 }
);

impl CoordDto {
    pub fn as_str(self) -> &'static str {
        CoordSystem::from(self).as_str()
    }
}

/// The coordinate system a request named (GCJ-02 when it named none).
pub fn coord_of(coord: Option<CoordDto>) -> CoordSystem {
    coord.map(CoordSystem::from).unwrap_or_default()
}

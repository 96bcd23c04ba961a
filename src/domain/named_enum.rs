//! `named_enum!`: a closed set of snake_case names, the way the domain's vocabularies (report
//! statuses, categories, place kinds, amenities…) are written in the database, in CSV and
//! GeoJSON files, and in query strings.
//!
//! Parsing trims surrounding whitespace: a name arrives from a query value, a CSV cell or a form
//! field, where `road_damage ` is a slip, never a different name. Anything else must match
//! exactly (case included), and an unknown name is an `invalid` error naming the field.

/// Defines `pub enum $name` with `ALL` (declaration order), `as_str`, `FromStr` and `Display`.
///
/// ```text
/// named_enum!(
///     /// The three kinds of place.
///     PlaceKind, "kind" { Station = "station", ParkingZone = "parking_zone" }
/// );
/// ```
macro_rules! named_enum {
    (
        $(#[$meta:meta])* $name:ident, $field:literal {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum $name { $($(#[$variant_meta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim() {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::domain::DomainError::invalid($field, format!("unknown {} `{other}`", $field))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use named_enum;

#[cfg(test)]
mod tests {
    use crate::domain::DomainError;

    named_enum!(
        /// A vocabulary for the tests.
        Colour, "colour" {
            /// Variants may carry their own documentation.
            Red = "red",
            DarkBlue = "dark_blue",
        }
    );

    #[test]
    fn names_round_trip_in_declaration_order() {
        assert_eq!(Colour::ALL, &[Colour::Red, Colour::DarkBlue]);
        for c in Colour::ALL {
            assert_eq!(c.as_str().parse::<Colour>().unwrap(), *c);
            assert_eq!(c.to_string(), c.as_str());
        }
    }

    #[test]
    fn surrounding_whitespace_is_forgiven_but_nothing_else() {
        assert_eq!(" dark_blue\t".parse::<Colour>().unwrap(), Colour::DarkBlue);
        assert_eq!("red\n".parse::<Colour>().unwrap(), Colour::Red);
        for wrong in ["Red", "dark blue", "dark-blue", "", "  "] {
            assert!(wrong.parse::<Colour>().is_err(), "{wrong:?}");
        }
    }

    #[test]
    fn an_unknown_name_is_invalid_input_naming_the_field() {
        match " green ".parse::<Colour>() {
            Err(DomainError::Invalid { field, reason }) => {
                assert_eq!(field, "colour");
                assert_eq!(reason, "unknown colour `green`");
            }
            other => panic!("{other:?}"),
        }
    }
}

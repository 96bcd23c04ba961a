//! Who is calling: riders and the three kinds of staff, and what each may reach.

use std::fmt;
use std::str::FromStr;

use super::DomainError;
use super::time::Millis;

/// A role carried by every session token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Rider,
    StationManager,
    Clerk,
    CityAdmin,
}

impl Role {
    pub const STAFF: [Role; 3] = [Role::StationManager, Role::Clerk, Role::CityAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Rider => "rider",
            Role::StationManager => "station_manager",
            Role::Clerk => "clerk",
            Role::CityAdmin => "city_admin",
        }
    }

    pub fn is_staff(self) -> bool {
        self != Role::Rider
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rider" => Ok(Role::Rider),
            "station_manager" => Ok(Role::StationManager),
            "clerk" => Ok(Role::Clerk),
            "city_admin" => Ok(Role::CityAdmin),
            other => Err(DomainError::invalid("role", format!("unknown role `{other}`"))),
        }
    }
}

/// An authenticated caller, as the session token names it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: String,
    pub city_id: String,
    pub role: Role,
    /// The office a clerk works for.
    pub office_id: Option<String>,
    pub display_name: String,
}

impl Caller {
    pub fn require_role(&self, allowed: &[Role]) -> Result<(), DomainError> {
        if allowed.contains(&self.role) { Ok(()) } else { Err(DomainError::Forbidden("role")) }
    }
}

/// An account as the service knows it: a rider (from WeChat) or staff (with a username).
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub city_id: String,
    pub role: Role,
    /// Staff only; riders log in through WeChat.
    pub username: Option<String>,
    pub display_name: String,
    /// The office a clerk works for.
    pub office_id: Option<String>,
    pub disabled: bool,
    pub created_at: Millis,
}

impl Account {
    /// The account as the caller of a use case (the demo seed acts as its own accounts).
    pub fn as_caller(&self) -> Caller {
        Caller {
            account_id: self.id.clone(),
            city_id: self.city_id.clone(),
            role: self.role,
            office_id: self.office_id.clone(),
            display_name: self.display_name.clone(),
        }
    }
}

/// The name in a demo login code `demo-<name>`: 1 to 32 letters, digits, `_` or `-`.
pub fn demo_rider_name(code: &str) -> Option<&str> {
    let name = code.strip_prefix("demo-")?;
    let valid =
        (1..=32).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    valid.then_some(name)
}

/// A caller proven to be a rider: what only riders may do takes one.
#[derive(Debug, Clone)]
pub struct Rider(Caller);

/// A caller proven to be a city admin.
#[derive(Debug, Clone)]
pub struct CityAdmin(Caller);

/// A caller proven to be staff of any kind (station manager, clerk or city admin).
#[derive(Debug, Clone)]
pub struct Staff(Caller);

macro_rules! proven_role {
    ($name:ident, $check:expr) => {
        impl TryFrom<Caller> for $name {
            type Error = DomainError;
            fn try_from(caller: Caller) -> Result<Self, DomainError> {
                let allowed: fn(Role) -> bool = $check;
                if allowed(caller.role) { Ok($name(caller)) } else { Err(DomainError::Forbidden("role")) }
            }
        }

        impl std::ops::Deref for $name {
            type Target = Caller;
            fn deref(&self) -> &Caller {
                &self.0
            }
        }
    };
}

proven_role!(Rider, |role| role == Role::Rider);
proven_role!(CityAdmin, |role| role == Role::CityAdmin);
proven_role!(Staff, Role::is_staff);

/// A staff username: 3 to 32 characters of lowercase letters, digits, `-`, `_` and `.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let name = raw.trim().to_ascii_lowercase();
        let ok_chars = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
        if !(3..=32).contains(&name.len()) || !ok_chars {
            return Err(DomainError::invalid("username", "3 to 32 characters: letters, digits, '-', '_' or '.'"));
        }
        Ok(Username(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: at least 8 characters outside demo seeding, at most 128.
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 8;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let n = raw.chars().count();
        if !(Self::MIN_CHARS..=128).contains(&n) {
            return Err(DomainError::invalid("password", "8 to 128 characters"));
        }
        Ok(NewPassword(raw.to_string()))
    }

    /// The demo accounts' password `demo` is shorter than any real one may be.
    pub fn demo(raw: &str) -> Self {
        NewPassword(raw.to_string())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_folded_and_checked() {
        assert_eq!(Username::parse(" Demo-Clerk ").unwrap().as_str(), "demo-clerk");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("中文名").is_err());
        assert!(Username::parse("a b c").is_err());
    }

    #[test]
    fn a_proven_role_is_only_made_from_a_caller_of_that_role() {
        let caller = |role| Caller {
            account_id: "a".into(),
            city_id: "c".into(),
            role,
            office_id: None,
            display_name: "n".into(),
        };
        assert!(Rider::try_from(caller(Role::Rider)).is_ok());
        assert!(Rider::try_from(caller(Role::Clerk)).is_err());
        assert!(CityAdmin::try_from(caller(Role::CityAdmin)).is_ok());
        assert!(CityAdmin::try_from(caller(Role::StationManager)).is_err());
        assert!(Staff::try_from(caller(Role::StationManager)).is_ok());
        assert!(Staff::try_from(caller(Role::Rider)).is_err());
    }

    #[test]
    fn demo_codes_name_a_demo_rider() {
        assert_eq!(demo_rider_name("demo-li"), Some("li"));
        assert_eq!(demo_rider_name("demo-wang_2-x"), Some("wang_2-x"));
        assert_eq!(demo_rider_name("demo-"), None);
        assert_eq!(demo_rider_name("demo-a b"), None);
        assert_eq!(demo_rider_name(&format!("demo-{}", "x".repeat(33))), None);
        assert_eq!(demo_rider_name("ok-li"), None);
    }

    #[test]
    fn roles_round_trip() {
        for role in [Role::Rider, Role::StationManager, Role::Clerk, Role::CityAdmin] {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }
}

//! The deployment's city: every row the service writes carries its id, and "today" and opening
//! hours are read in its time zone.

use chrono_tz::Tz;

#[derive(Debug, Clone)]
pub struct City {
    pub id: String,
    pub name: String,
    pub tz: Tz,
}

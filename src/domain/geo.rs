//! Coordinates. Phones in China and the mini-program map speak GCJ-02; GPS and open data speak
//! WGS-84. The two are different types so they cannot be mixed by accident: the store keeps
//! GCJ-02, and the API converts at the edge in whichever system the request names.

use std::fmt;
use std::str::FromStr;

use super::DomainError;

/// Mean earth radius used by haversine, in metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// The coordinate system a request or response uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CoordSystem {
    #[default]
    Gcj02,
    Wgs84,
}

impl CoordSystem {
    pub fn as_str(self) -> &'static str {
        match self {
            CoordSystem::Gcj02 => "gcj02",
            CoordSystem::Wgs84 => "wgs84",
        }
    }
}

impl FromStr for CoordSystem {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "gcj02" | "gcj-02" => Ok(CoordSystem::Gcj02),
            "wgs84" | "wgs-84" => Ok(CoordSystem::Wgs84),
            other => {
                Err(DomainError::invalid("coord", format!("unknown coordinate system `{other}` (gcj02 or wgs84)")))
            }
        }
    }
}

impl fmt::Display for CoordSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn check_lat_lng(lat: f64, lng: f64) -> Result<(), DomainError> {
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(DomainError::invalid("lat", "latitude must be between -90 and 90"));
    }
    if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
        return Err(DomainError::invalid("lng", "longitude must be between -180 and 180"));
    }
    Ok(())
}

/// A point in GCJ-02, the system the service stores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gcj02 {
    lat: f64,
    lng: f64,
}

/// A point in WGS-84 (GPS, most open data).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wgs84 {
    lat: f64,
    lng: f64,
}

impl Gcj02 {
    pub fn new(lat: f64, lng: f64) -> Result<Self, DomainError> {
        check_lat_lng(lat, lng)?;
        Ok(Gcj02 { lat, lng })
    }

    pub fn lat(self) -> f64 {
        self.lat
    }

    pub fn lng(self) -> f64 {
        self.lng
    }

    /// The inverse of the GCJ-02 shift, by fixed-point iteration (error well under a centimetre).
    pub fn to_wgs84(self) -> Wgs84 {
        if out_of_china(self.lat, self.lng) {
            return Wgs84 { lat: self.lat, lng: self.lng };
        }
        let mut wgs = Wgs84 { lat: self.lat, lng: self.lng };
        for _ in 0..10 {
            let shifted = wgs.to_gcj02();
            let (dlat, dlng) = (shifted.lat - self.lat, shifted.lng - self.lng);
            wgs = Wgs84 { lat: wgs.lat - dlat, lng: wgs.lng - dlng };
            if dlat.abs() < 1e-10 && dlng.abs() < 1e-10 {
                break;
            }
        }
        wgs
    }

    /// This point in the system a client asked for, as (lat, lng).
    pub fn in_system(self, system: CoordSystem) -> (f64, f64) {
        match system {
            CoordSystem::Gcj02 => (self.lat, self.lng),
            CoordSystem::Wgs84 => {
                let w = self.to_wgs84();
                (w.lat, w.lng)
            }
        }
    }

    /// Reads a client's point in the system it names, into GCJ-02.
    pub fn from_system(lat: f64, lng: f64, system: CoordSystem) -> Result<Self, DomainError> {
        match system {
            CoordSystem::Gcj02 => Gcj02::new(lat, lng),
            CoordSystem::Wgs84 => Ok(Wgs84::new(lat, lng)?.to_gcj02()),
        }
    }

    /// Great-circle distance in metres (haversine).
    pub fn distance_m(self, other: Gcj02) -> f64 {
        haversine_m(self.lat, self.lng, other.lat, other.lng)
    }

    /// The geohash of this point at `precision` characters (1 to 12).
    pub fn geohash(self, precision: usize) -> String {
        geohash::encode(geohash::Coord { x: self.lng, y: self.lat }, precision.clamp(1, 12)).unwrap_or_default()
    }
}

impl Wgs84 {
    pub fn new(lat: f64, lng: f64) -> Result<Self, DomainError> {
        check_lat_lng(lat, lng)?;
        Ok(Wgs84 { lat, lng })
    }

    pub fn lat(self) -> f64 {
        self.lat
    }

    pub fn lng(self) -> f64 {
        self.lng
    }

    /// The published GCJ-02 transform (Krasovsky 1940 ellipsoid). Outside mainland China the
    /// point is returned unshifted, as the mini-program map does.
    pub fn to_gcj02(self) -> Gcj02 {
        if out_of_china(self.lat, self.lng) {
            return Gcj02 { lat: self.lat, lng: self.lng };
        }
        const A: f64 = 6_378_245.0;
        const EE: f64 = 0.006_693_421_622_965_943;
        let (x, y) = (self.lng - 105.0, self.lat - 35.0);
        let mut dlat = transform_lat(x, y);
        let mut dlng = transform_lng(x, y);
        let rad_lat = self.lat.to_radians();
        let magic = 1.0 - EE * rad_lat.sin().powi(2);
        let sqrt_magic = magic.sqrt();
        dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * std::f64::consts::PI);
        dlng = (dlng * 180.0) / (A / sqrt_magic * rad_lat.cos() * std::f64::consts::PI);
        Gcj02 { lat: self.lat + dlat, lng: self.lng + dlng }
    }
}

fn transform_lat(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn transform_lng(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// A box of latitudes and longitudes in one coordinate system, inclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub min_lat: f64,
    pub min_lng: f64,
    pub max_lat: f64,
    pub max_lng: f64,
}

impl Bbox {
    /// The box around `center` reaching `radius_m` metres in every direction.
    pub fn around(center: Gcj02, radius_m: f64) -> Bbox {
        let dlat = radius_m / 111_195.0;
        let dlng = radius_m / (111_195.0 * center.lat().to_radians().cos().max(0.01));
        Bbox {
            min_lat: center.lat() - dlat,
            min_lng: center.lng() - dlng,
            max_lat: center.lat() + dlat,
            max_lng: center.lng() + dlng,
        }
    }

    pub fn contains(&self, lat: f64, lng: f64) -> bool {
        (self.min_lat..=self.max_lat).contains(&lat) && (self.min_lng..=self.max_lng).contains(&lng)
    }
}

/// The box a map shows, as a client names it: `minLng,minLat,maxLng,maxLat` in its system.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapBox {
    asked: Bbox,
    system: CoordSystem,
    cover: Bbox,
}

impl MapBox {
    /// Reads `lng,lat,lng,lat` (two opposite corners, `minLng,minLat,maxLng,maxLat` or any other
    /// pair of opposite corners) in `system`. Any size: a page of the map is bounded by its limit.
    pub fn parse(raw: &str, system: CoordSystem) -> Result<MapBox, DomainError> {
        let bad = || DomainError::invalid("bbox", "minLng,minLat,maxLng,maxLat");
        let v: Vec<f64> =
            raw.split(',').map(|p| p.trim().parse::<f64>().map_err(|_| bad())).collect::<Result<_, _>>()?;
        let [lng1, lat1, lng2, lat2] = v[..] else { return Err(bad()) };
        let (min_lng, max_lng) = (lng1.min(lng2), lng1.max(lng2));
        let (min_lat, max_lat) = (lat1.min(lat2), lat1.max(lat2));
        let lo = Gcj02::from_system(min_lat, min_lng, system)?;
        let hi = Gcj02::from_system(max_lat, max_lng, system)?;
        // The GCJ-02 shift is under 0.01° and varies slowly: pad the converted box, and let
        // `contains` keep exactly the points whose position in the client's system is inside.
        let pad = if system == CoordSystem::Gcj02 { 0.0 } else { 0.01 };
        let cover = Bbox {
            min_lat: lo.lat().min(hi.lat()) - pad,
            min_lng: lo.lng().min(hi.lng()) - pad,
            max_lat: lo.lat().max(hi.lat()) + pad,
            max_lng: lo.lng().max(hi.lng()) + pad,
        };
        Ok(MapBox { asked: Bbox { min_lat, min_lng, max_lat, max_lng }, system, cover })
    }

    /// A GCJ-02 box holding every point of this one: what to ask the store for.
    pub fn gcj02_cover(&self) -> Bbox {
        self.cover
    }

    /// Whether the map shows `p`, placed in the client's system.
    pub fn contains(&self, p: Gcj02) -> bool {
        let (lat, lng) = p.in_system(self.system);
        self.asked.contains(lat, lng)
    }
}

/// The published rough box of mainland China, outside which GCJ-02 equals WGS-84.
pub fn out_of_china(lat: f64, lng: f64) -> bool {
    !(72.004..=137.8347).contains(&lng) || !(0.8293..=55.8271).contains(&lat)
}

/// Great-circle distance in metres between two (lat, lng) points of the same system.
pub fn haversine_m(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lng2 - lng1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_round_trips_inside_china() {
        let wgs = Wgs84::new(39.908_692, 116.397_477).unwrap();
        let gcj = wgs.to_gcj02();
        // The shift in Beijing is a few hundred metres.
        let shift = haversine_m(wgs.lat(), wgs.lng(), gcj.lat(), gcj.lng());
        assert!((100.0..700.0).contains(&shift), "shift {shift}");
        let back = gcj.to_wgs84();
        assert!(haversine_m(back.lat(), back.lng(), wgs.lat(), wgs.lng()) < 0.01);
    }

    #[test]
    fn points_outside_china_are_not_shifted() {
        let london = Wgs84::new(51.5074, -0.1278).unwrap();
        assert_eq!(london.to_gcj02().in_system(CoordSystem::Gcj02), (51.5074, -0.1278));
    }

    #[test]
    fn out_of_range_and_unknown_systems_are_refused() {
        assert!(Gcj02::new(91.0, 0.0).is_err());
        assert!(Gcj02::new(0.0, 181.0).is_err());
        assert!(Gcj02::new(f64::NAN, 0.0).is_err());
        assert!("bd09".parse::<CoordSystem>().is_err());
    }

    #[test]
    fn a_map_box_is_read_checked_and_covered_in_gcj02() {
        assert!(MapBox::parse("120,30,121", CoordSystem::Gcj02).is_err());
        assert!(MapBox::parse("120,91,120.1,91.1", CoordSystem::Gcj02).is_err());
        let gcj = MapBox::parse(" 120.1, 30.25 ,120.2,30.3", CoordSystem::Gcj02).unwrap();
        assert_eq!(gcj.gcj02_cover(), Bbox { min_lat: 30.25, min_lng: 120.1, max_lat: 30.3, max_lng: 120.2 });
        for swapped in ["120.2,30.3,120.1,30.25", "120.1,30.3,120.2,30.25", "120.2,30.25,120.1,30.3"] {
            assert_eq!(MapBox::parse(swapped, CoordSystem::Gcj02).unwrap(), gcj, "{swapped}");
        }
        assert!(MapBox::parse("70,0,140,56", CoordSystem::Gcj02).is_ok(), "any size");
        assert!(gcj.contains(Gcj02::new(30.25, 120.2).unwrap()), "edges are inside");
        assert!(!gcj.contains(Gcj02::new(30.31, 120.15).unwrap()));
        // A WGS-84 box: the store is asked for a padded GCJ-02 box; the answer is judged in WGS-84.
        let wgs = MapBox::parse("120.1,30.25,120.2,30.3", CoordSystem::Wgs84).unwrap();
        let inside = Wgs84::new(30.2999, 120.1999).unwrap().to_gcj02();
        let cover = wgs.gcj02_cover();
        assert!(wgs.contains(inside) && cover.contains(inside.lat(), inside.lng()));
        assert!(!wgs.contains(Wgs84::new(30.3001, 120.15).unwrap().to_gcj02()));
    }

    #[test]
    fn a_box_around_a_point_reaches_the_radius_every_way() {
        let c = Gcj02::new(30.0, 120.0).unwrap();
        let b = Bbox::around(c, 1000.0);
        assert!((haversine_m(30.0, 120.0, b.max_lat, 120.0) - 1000.0).abs() < 1.0);
        assert!((haversine_m(30.0, 120.0, 30.0, b.max_lng) - 1000.0).abs() < 1.0);
        assert!(b.contains(30.0, 120.0) && !b.contains(30.0, b.max_lng + 1e-9));
    }

    #[test]
    fn haversine_matches_a_known_distance() {
        // One degree of latitude is about 111.2 km.
        let d = haversine_m(30.0, 120.0, 31.0, 120.0);
        assert!((d - 111_195.0).abs() < 10.0, "{d}");
    }
}

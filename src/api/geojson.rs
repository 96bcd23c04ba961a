//! GeoJSON (RFC 7946) as the API reads and writes it, for the spec: a jurisdiction (a Polygon or
//! MultiPolygon, bare or as a Feature's geometry) and places (a FeatureCollection of Point
//! features). The domain reads and writes the JSON itself (`domain::routing::Area`,
//! `domain::place_files`); these types say in the spec what those readers accept and what the
//! export writes, and `Shaped` carries the plain JSON under such a description.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::marker::PhantomData;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use poem_openapi::{Enum, Object, Union};
use serde_json::Value;

use super::dto::type_with_schema_of;
use super::places::{AmenityDto, PlaceKindDto, PlaceStatusDto};

/// Plain JSON, read and written as is, described in the spec as `T`.
#[derive(Debug, Clone)]
pub struct Shaped<T> {
    pub value: Value,
    shape: PhantomData<fn() -> T>,
}

impl<T> Shaped<T> {
    pub fn new(value: Value) -> Self {
        Shaped { value, shape: PhantomData }
    }
}

type_with_schema_of!(Shaped<T: Type>);

impl<T: Type> ParseFromJSON for Shaped<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Ok(Shaped::new(value.unwrap_or_default()))
    }
}

impl<T: Type> ToJSON for Shaped<T> {
    fn to_json(&self) -> Option<Value> {
        Some(self.value.clone())
    }
}

/// Declares an array type with its own name, a minimum length and a description in the spec.
macro_rules! geo_array {
    ($(#[$meta:meta])* $name:ident = [$item:ty; at least $min:literal] $description:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Vec<$item>);

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Reference(Self::name().into_owned())
            }

            fn register(registry: &mut Registry) {
                registry.create_schema::<Self, _>(Self::name().into_owned(), |registry| {
                    <$item>::register(registry);
                    MetaSchema {
                        description: Some($description),
                        items: Some(Box::new(<$item>::schema_ref())),
                        min_items: Some($min),
                        ..MetaSchema::new("array")
                    }
                });
            }

            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                Vec::<$item>::parse_from_json(value).map($name).map_err(ParseError::propagate)
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                self.0.to_json()
            }
        }
    };
}

geo_array!(GeoJsonPosition = [f64; at least 2]
    "A position: `[longitude, latitude]` in decimal degrees (a third number, the altitude, is ignored).");
geo_array!(GeoJsonLinearRing = [GeoJsonPosition; at least 4]
    "A closed ring: its last position repeats its first.");
geo_array!(GeoJsonPolygonCoordinates = [GeoJsonLinearRing; at least 1]
    "A polygon's rings: the exterior first, then any holes.");
geo_array!(GeoJsonMultiPolygonCoordinates = [GeoJsonPolygonCoordinates; at least 1]
    "The polygons of a MultiPolygon.");

/// A GeoJSON Polygon (RFC 7946 §3.1.6).
#[derive(Debug, Object)]
#[oai(rename = "GeoJsonPolygon", skip_serializing_if_is_none)]
pub struct PolygonGeometry {
    pub coordinates: GeoJsonPolygonCoordinates,
}

/// A GeoJSON MultiPolygon (RFC 7946 §3.1.7).
#[derive(Debug, Object)]
#[oai(rename = "GeoJsonMultiPolygon", skip_serializing_if_is_none)]
pub struct MultiPolygonGeometry {
    pub coordinates: GeoJsonMultiPolygonCoordinates,
}

/// An area: a Polygon or a MultiPolygon, by `type`.
#[derive(Debug, Union)]
#[oai(rename = "GeoJsonArea", discriminator_name = "type", one_of)]
pub enum AreaGeometry {
    #[oai(mapping = "Polygon")]
    Polygon(PolygonGeometry),
    #[oai(mapping = "MultiPolygon")]
    MultiPolygon(MultiPolygonGeometry),
}

/// A GeoJSON Feature (RFC 7946 §3.2) whose geometry is an area; its properties are ignored.
#[derive(Debug, Object)]
#[oai(rename = "GeoJsonAreaFeature", skip_serializing_if_is_none)]
pub struct AreaFeature {
    pub geometry: AreaGeometry,
    /// Anything, or null: ignored.
    #[oai(nullable)]
    pub properties: Option<BTreeMap<String, Value>>,
}

/// A unit's jurisdiction in GeoJSON: a Polygon or MultiPolygon, bare or as a Feature's geometry,
/// positions `[longitude, latitude]` inside mainland China. Rings must be closed and the shape
/// valid (no self-intersections), with at most 10,000 vertices; otherwise 400 with the reason.
#[derive(Debug, Union)]
#[oai(rename = "JurisdictionGeoJson", discriminator_name = "type", one_of)]
pub enum JurisdictionGeoJson {
    #[oai(mapping = "Polygon")]
    Polygon(PolygonGeometry),
    #[oai(mapping = "MultiPolygon")]
    MultiPolygon(MultiPolygonGeometry),
    #[oai(mapping = "Feature")]
    Feature(AreaFeature),
}

/// `"Point"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum PointType {
    Point,
}

/// A GeoJSON Point (RFC 7946 §3.1.2).
#[derive(Debug, Object)]
#[oai(rename = "GeoJsonPoint", skip_serializing_if_is_none)]
pub struct PointGeometry {
    #[oai(rename = "type")]
    pub kind: PointType,
    pub coordinates: GeoJsonPosition,
}

/// `"Feature"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum FeatureType {
    Feature,
}

/// `"FeatureCollection"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum FeatureCollectionType {
    FeatureCollection,
}

/// What every place in a file has.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FilePlaceBasics {
    /// Not blank.
    #[oai(validator(
        max_length = 100,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    ))]
    pub name: String,
    /// Not blank.
    #[oai(validator(
        max_length = 200,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    ))]
    pub address: String,
    /// The system of the point: `wgs84` (as RFC 7946 says; the default) or `gcj02`.
    #[oai(
        nullable,
        validator(
            pattern = r"^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(gcj02|wgs84)?[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
        )
    )]
    pub coord: Option<String>,
    #[oai(nullable, validator(max_length = 100))]
    pub host_org: Option<String>,
    /// Digits, spaces and `+ - ( )`.
    #[oai(validator(
        max_length = 32,
        pattern = r"^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[0-9+() -]*[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    ))]
    #[oai(nullable)]
    pub contact_phone: Option<String>,
    #[oai(nullable, validator(max_items = 18))]
    pub amenities: Option<Vec<AmenityDto>>,
    /// Opening hours in the grammar of `OpeningHours`; `24/7` when left out.
    #[oai(nullable, validator(max_length = 2000))]
    pub hours: Option<String>,
    /// Photo URLs or media ids, at most 9.
    #[oai(nullable, validator(max_items = 9, max_length = 512))]
    pub photos: Option<Vec<String>>,
}

/// A station's properties.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct StationProperties {
    #[oai(flatten)]
    pub basics: FilePlaceBasics,
}

/// A parking zone's properties.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ParkingZoneProperties {
    #[oai(flatten)]
    pub basics: FilePlaceBasics,
    /// Bays.
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "100000")))]
    pub capacity: Option<i32>,
    /// Longest stay in minutes.
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "1440")))]
    pub max_stay_minutes: Option<i32>,
}

/// A friendly site's properties.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FriendlySiteProperties {
    #[oai(flatten)]
    pub basics: FilePlaceBasics,
    /// How riders get in.
    #[oai(nullable, validator(max_length = 500))]
    pub entry_instructions: Option<String>,
}

/// A place's properties in an import, by `kind` (the same names as the CSV columns). `id` and
/// `status`, which the export writes, are ignored: imported places are new and open.
#[derive(Debug, Union)]
#[oai(rename = "ImportedPlaceProperties", discriminator_name = "kind", one_of)]
pub enum ImportedPlaceProperties {
    #[oai(mapping = "station")]
    Station(StationProperties),
    #[oai(mapping = "parking_zone")]
    ParkingZone(ParkingZoneProperties),
    #[oai(mapping = "friendly_site")]
    FriendlySite(FriendlySiteProperties),
}

/// One place to import.
#[derive(Debug, Object)]
#[oai(rename = "ImportedPlaceFeature", skip_serializing_if_is_none)]
pub struct ImportedPlaceFeature {
    #[oai(rename = "type")]
    pub kind: FeatureType,
    pub geometry: PointGeometry,
    pub properties: ImportedPlaceProperties,
}

/// Places to import: a FeatureCollection of Point features, at most 50,000. Every feature is
/// checked first; if any is bad, nothing is imported (422 `invalid_rows`).
#[derive(Debug, Object)]
#[oai(rename = "PlaceImportGeoJson", skip_serializing_if_is_none)]
pub struct PlaceImportGeoJson {
    #[oai(rename = "type")]
    pub kind: FeatureCollectionType,
    #[oai(validator(max_items = 50000))]
    pub features: Vec<ImportedPlaceFeature>,
}

/// A place as the export writes it (every kind's fields; those a place lacks are left out).
#[derive(Debug, Object)]
#[oai(rename = "ExportedPlaceProperties", skip_serializing_if_is_none)]
pub struct ExportedPlaceProperties {
    pub kind: PlaceKindDto,
    pub name: String,
    pub address: String,
    pub host_org: Option<String>,
    pub contact_phone: Option<String>,
    pub amenities: Vec<AmenityDto>,
    /// Opening hours (the grammar of `OpeningHours`).
    pub hours: String,
    /// Parking zones: bays.
    pub capacity: Option<i32>,
    /// Parking zones: longest stay in minutes.
    pub max_stay_minutes: Option<i32>,
    /// Friendly sites: how riders get in.
    pub entry_instructions: Option<String>,
    pub photos: Vec<String>,
    /// The status the manager declared (ignored by the import).
    pub status: PlaceStatusDto,
}

/// One exported place; `id` is the place's id (ignored by the import).
#[derive(Debug, Object)]
#[oai(rename = "ExportedPlaceFeature", skip_serializing_if_is_none)]
pub struct ExportedPlaceFeature {
    #[oai(rename = "type")]
    pub kind: FeatureType,
    pub id: String,
    pub geometry: PointGeometry,
    pub properties: ExportedPlaceProperties,
}

/// Every place: a FeatureCollection of Point features in WGS-84, which the import reads back.
#[derive(Debug, Object)]
#[oai(rename = "PlaceExportGeoJson", skip_serializing_if_is_none)]
pub struct PlaceExportGeoJson {
    #[oai(rename = "type")]
    pub kind: FeatureCollectionType,
    pub features: Vec<ExportedPlaceFeature>,
}

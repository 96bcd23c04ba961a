//! The nearby index against a brute-force scan: 10k, 100k and 1M places over a 50 km × 50 km
//! city, a 3 km query for the 20 nearest. Run: `cargo bench --bench index`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use xinhuoban::domain::geo::Gcj02;
use xinhuoban::domain::places::{Amenity, AmenitySet, KindSet, NearbyQuery, PlaceKind, PlacePin, StatusKind};
use xinhuoban::domain::time::Millis;
use xinhuoban::index::PlaceIndex;

const CENTRE: (f64, f64) = (30.275, 120.16);
const HALF_LAT: f64 = 25.0 / 111.195;

fn half_lng() -> f64 {
    HALF_LAT / CENTRE.0.to_radians().cos()
}

fn random_point(rng: &mut StdRng) -> Gcj02 {
    Gcj02::new(CENTRE.0 + rng.random_range(-HALF_LAT..HALF_LAT), CENTRE.1 + rng.random_range(-half_lng()..half_lng()))
        .expect("inside the world")
}

/// What a brute-force search has to go through: every place, measured.
struct Flat {
    location: Gcj02,
    kind: PlaceKind,
    amenities: AmenitySet,
}

fn places(n: usize) -> (PlaceIndex, Vec<Flat>) {
    let mut rng = StdRng::seed_from_u64(n as u64);
    let mut builder = PlaceIndex::builder();
    let mut flat = Vec::with_capacity(n);
    for i in 0..n {
        let location = random_point(&mut rng);
        let kind = PlaceKind::ALL[rng.random_range(0..3)];
        let amenities: AmenitySet = Amenity::ALL.iter().copied().filter(|_| rng.random_bool(0.3)).collect();
        builder.push(&PlacePin {
            id: uuid::Uuid::from_u128(i as u128 + 1).to_string(),
            kind,
            name: format!("驿站{i}"),
            location,
            amenities,
            hours_text: "24/7".into(),
            status: StatusKind::Open,
            status_until: None,
            last_confirmed_at: None,
            version: 1,
        });
        flat.push(Flat { location, kind, amenities });
    }
    (builder.finish(chrono_tz::Asia::Shanghai, 1), flat)
}

fn brute_force(flat: &[Flat], q: &NearbyQuery) -> Vec<(f64, usize)> {
    let mut found: Vec<(f64, usize)> = flat
        .iter()
        .enumerate()
        .filter(|(_, p)| q.kinds.allows(p.kind) && p.amenities.contains_all(q.amenities))
        .map(|(i, p)| (q.center.distance_m(p.location), i))
        .filter(|(d, _)| *d <= q.radius_m)
        .collect();
    let k = q.limit.min(found.len());
    if k > 0 {
        found.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
        found.truncate(k);
        found.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    found
}

fn queries(filtered: bool) -> Vec<NearbyQuery> {
    let mut rng = StdRng::seed_from_u64(7);
    (0..256)
        .map(|_| NearbyQuery {
            center: random_point(&mut rng),
            radius_m: 3000.0,
            kinds: if filtered { [PlaceKind::Station].into_iter().collect() } else { KindSet::default() },
            amenities: if filtered { [Amenity::HotWater].into_iter().collect() } else { AmenitySet::default() },
            open_now: filtered,
            limit: 20,
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let now = Millis::now();
    let plain = queries(false);
    let filtered = queries(true);
    let mut group = c.benchmark_group("nearby_3km_k20");
    group.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    for n in [10_000usize, 100_000, 1_000_000] {
        let (index, flat) = places(n);
        let mut i = 0;
        group.bench_with_input(BenchmarkId::new("index", n), &n, |b, _| {
            b.iter(|| {
                i = (i + 1) % plain.len();
                black_box(index.nearby(&plain[i], now))
            })
        });
        group.bench_with_input(BenchmarkId::new("index_filtered", n), &n, |b, _| {
            b.iter(|| {
                i = (i + 1) % filtered.len();
                black_box(index.nearby(&filtered[i], now))
            })
        });
        group.bench_with_input(BenchmarkId::new("brute_force", n), &n, |b, _| {
            b.iter(|| {
                i = (i + 1) % plain.len();
                black_box(brute_force(&flat, &plain[i]))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

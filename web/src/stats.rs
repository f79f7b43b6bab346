//! Read-only aggregates for the console's charts: open ports by port number and hosts per
//! /24. Small answers computed by the store, so the browser never pages through every host
//! to draw a chart.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{ApiError, Backend, Caller};

/// The largest `limit` of `GET /api/v1/stats/ports`.
pub const MAX_PORTS_LIMIT: u32 = 1000;

/// A row of `GET /api/v1/stats/ports`: how many hosts have a port open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PortCount {
    /// Port number.
    pub port: u16,
    /// Hosts with it open.
    pub hosts: u64,
}

/// A row of `GET /api/v1/stats/subnets`: one /24 that holds at least one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubnetCount {
    /// The /24, as `a.b.c.0/24`.
    pub subnet: String,
    /// Hosts in it with an open port.
    pub hosts: u64,
    /// Open ports on those hosts.
    pub ports: u64,
}

/// Query of `GET /api/v1/stats/ports`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PortCountQuery {
    /// How many ports, most common first (1..=1000, default 20).
    #[serde(default)]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[utoipa::path(
    get, path = "/api/v1/stats/ports", tag = "stats", params(PortCountQuery),
    responses((status = 200, description = "Open ports by number, most common first", body = Vec<PortCount>))
)]
pub(crate) async fn ports<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
    query: web::Query<PortCountQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=MAX_PORTS_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_PORTS_LIMIT}, not {limit}"
        )));
    }
    Ok(HttpResponse::Ok().json(backend.port_counts(limit).await?))
}

#[utoipa::path(
    get, path = "/api/v1/stats/subnets", tag = "stats",
    responses((status = 200, description = "Every /24 with a host in it", body = Vec<SubnetCount>))
)]
pub(crate) async fn subnets<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.subnet_counts().await?))
}

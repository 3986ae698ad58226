package PVE::DataCenterConfig;

# Test double of pve-cluster's PVE::DataCenterConfig (src/PVE/DataCenterConfig.pm): the real module registers the datacenter.cfg parser with PVE::Cluster; the
# PVE::Cluster double serves datacenter.cfg already parsed.

use strict;
use warnings;

1;

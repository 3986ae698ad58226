package PVE::API2::LXC;

# Test double of pve-container's PVE::API2::LXC (src/PVE/API2/LXC.pm, migrate_vm) with the real
# parameter schema and checks: a running container needs online or restart. HA-managed ones get
# a 'hamigrate' task. The migration is a task of the simulated cluster, which plays
# PVE::LXC::Migrate::prepare: 'online' fails ("lxc live migration is currently not
# implemented"), and a running container cannot move to the target of its replication job
# ("can't live migrate VM with replicated volumes").

use strict;
use warnings;

use PVE::Cluster;
use PVE::Exception qw(raise_param_exc);
use PVE::HA::Config;
use PVE::INotify;
use PVE::JSONSchema qw(get_standard_option);
use PVE::LXC::Config;
use PVE::RESTHandler;
use PVE::RPCEnvironment;
use PVE::Tools qw(extract_param);

use base qw(PVE::RESTHandler);

__PACKAGE__->register_method({
    name => 'migrate_vm',
    path => '{vmid}/migrate',
    method => 'POST',
    protected => 1,
    proxyto => 'node',
    description => "Migrate the container to another node. Creates a new migration task.",
    permissions => { check => ['perm', '/vms/{vmid}', ['VM.Migrate']] },
    parameters => {
        additionalProperties => 0,
        properties => {
            node => get_standard_option('pve-node'),
            vmid => get_standard_option('pve-vmid'),
            target => get_standard_option('pve-node', { description => "Target node." }),
            'target-storage' => { type => 'string', optional => 1 },
            online => { type => 'boolean', optional => 1 },
            restart => { type => 'boolean', optional => 1 },
            timeout => { type => 'integer', optional => 1, default => 180 },
            bwlimit => { type => 'number', minimum => 0, optional => 1 },
        },
    },
    returns => { type => 'string', description => "the task ID." },
    code => sub {
        my ($param) = @_;

        my $rpcenv = PVE::RPCEnvironment::get();
        my $authuser = $rpcenv->get_user();

        my $target = extract_param($param, 'target');
        my $localnode = PVE::INotify::nodename();
        raise_param_exc({ target => "target is local node." }) if $target eq $localnode;

        PVE::Cluster::check_cfs_quorum();
        PVE::Cluster::check_node_exists($target);

        my $vmid = extract_param($param, 'vmid');
        my $conf = PVE::LXC::Config->load_config($vmid);
        die "CT is locked ($conf->{lock})\n" if $conf->{lock};

        my $sim = PVEBalancerTest::SimCluster->current();
        if (PVE::HA::Config::vm_is_ha_managed($vmid) && $rpcenv->{type} ne 'ha') {
            # the 'hamigrate' worker runs 'ha-manager migrate ct:$vmid $target'; it is a task
            # of the simulated cluster, like the migration task below
            return $sim->ha_request_task('ct:' . $vmid, $target, $authuser);
        }

        return $sim->start_migration(
            type => 'lxc', vmid => $vmid, node => $localnode, target => $target,
            params => $param, user => $authuser,
        );
    },
});

1;

package PVE::API2::Qemu;

# Test double of qemu-server's PVE::API2::Qemu (src/PVE/API2/Qemu.pm, migrate_vm) with the real
# parameter schema and the real checks before the task: target not the local node, quorum,
# config on this node, lock; a running VM needs online and may live-migrate only to a node its
# replication jobs target (disabled jobs count); the storages of its volumes must be enabled on
# the target (check_storage_availability). HA-managed VMs (vm_is_ha_managed, so not while HA
# is disarmed in 'ignore' mode) get a 'hamigrate' task that queues the CRM command, unless the
# caller is the HA stack. The migration itself is a task of the simulated cluster, which also
# plays PVE::QemuMigrate::prepare: local devices, mapped devices missing on the target or not
# live-migratable, and cdrom images on local storage make the task fail
# (PVEBalancerTest::SimCluster::start_migration).

use strict;
use warnings;

use PVE::Cluster;
use PVE::Exception qw(raise_param_exc);
use PVE::HA::Config;
use PVE::INotify;
use PVE::JSONSchema qw(get_standard_option);
use PVE::QemuConfig;
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
    description => "Migrate virtual machine. Creates a new migration task.",
    permissions => { check => ['perm', '/vms/{vmid}', ['VM.Migrate']] },
    parameters => {
        additionalProperties => 0,
        properties => {
            node => get_standard_option('pve-node'),
            vmid => get_standard_option('pve-vmid'),
            target => get_standard_option('pve-node', { description => "Target node." }),
            online => { type => 'boolean', optional => 1 },
            force => { type => 'boolean', optional => 1 },
            migration_type => { type => 'string', enum => ['secure', 'insecure'], optional => 1 },
            migration_network => { type => 'string', optional => 1 },
            'with-local-disks' => { type => 'boolean', optional => 1 },
            targetstorage => { type => 'string', optional => 1 },
            bwlimit => { type => 'integer', minimum => 0, optional => 1 },
            'with-conntrack-state' => { type => 'boolean', optional => 1, default => 0 },
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
        my $conf = PVE::QemuConfig->load_config($vmid);
        die "VM is locked ($conf->{lock})\n" if $conf->{lock};

        my $sim = PVEBalancerTest::SimCluster->current();
        if (PVE::HA::Config::vm_is_ha_managed($vmid) && $rpcenv->{type} ne 'ha') {
            # the 'hamigrate' worker runs 'ha-manager migrate vm:$vmid $target'; it is a task
            # of the simulated cluster, like the migration task below
            return $sim->ha_request_task('vm:' . $vmid, $target, $authuser);
        }

        return $sim->start_migration(
            type => 'qemu', vmid => $vmid, node => $localnode, target => $target,
            params => $param, user => $authuser,
        );
    },
});

1;

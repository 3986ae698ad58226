package PVEBalancerTest::SimCluster::QemuMigrate;

# What qemu-server checks before and during a migration of a VM of the simulated cluster
# (PVEBalancerTest::SimCluster::start_migration): the API's storage check and the refusals of
# PVE::QemuMigrate::prepare and its volume scan.

use strict;
use warnings;

my sub storage_enabled {
    my ($sim, $sid, $node) = @_;

    my $scfg = $sim->{storage}->{ids}->{$sid} or die "storage '$sid' does not exist\n";
    die "storage '$sid' is disabled\n" if $scfg->{disable};
    if ($node && $scfg->{nodes} && %{ $scfg->{nodes} } && !$scfg->{nodes}->{$node}) {
        die "storage '$sid' is not available on node '$node'\n";
    }
    return $scfg;
}

my $drive_re = qr/^(?:ide|sata|scsi|virtio|efidisk|tpmstate)\d+$/;

=head3 check_storage_availability($sim, $g, $target)

qemu-server PVE::QemuServer::check_storage_availability: every volume's storage enabled on the
target (cdrom images included; whether they can be migrated is decided in the task). Dies with
qemu-server's message otherwise.

=cut

sub check_storage_availability {
    my ($sim, $g, $target) = @_;

    my $conf = $g->{config} // {};
    for my $key (sort grep { m/$drive_re/ } keys %$conf) {
        my ($volid) = split(/,/, $conf->{$key});
        next if !$volid || $volid !~ m/^([a-zA-Z][a-zA-Z0-9\-_.]*):/;
        my $sid = $1;
        storage_enabled($sim, $sid);
        storage_enabled($sim, $sid, $target);
    }
}

=head3 qemu_task_refusal($sim, $g, $target, $running)

What PVE::QemuMigrate::prepare and the volume scan refuse (the task fails): local devices,
mapped devices missing on the target or not live-migratable, cdrom images on local storage.
Returns the task's error message, or undef when the migration may go ahead.

=cut

sub qemu_task_refusal {
    my ($sim, $g, $target, $running) = @_;

    my $conf = $g->{config} // {};
    my (@local, @missing, @not_live);
    for my $key (sort keys %$conf) {
        my $value = $conf->{$key};
        if ($key =~ m/^(?:hostpci|usb)\d+$/) {
            my %opt = map { m/=/ ? split(/=/, $_, 2) : (host => $_) } split(/,/, $value);
            next if $key =~ m/^usb/ && ($opt{host} // '') =~ m/^spice$/i;
            if (my $id = $opt{mapping}) {
                my $type = $key =~ m/^hostpci/ ? 'pci' : 'usb';
                my $m = ($sim->{mappings}->{$type} // {})->{$id};
                my $on_target = $m && grep { m/(?:^|,)node=\Q$target\E(?:,|$)/ } @{ $m->{map} // [] };
                push @missing, $key if !$on_target;
                push @not_live, "$key:$id" if !($m && $m->{'live-migration-capable'});
                next;
            }
            push @local, $key;
        } elsif ($key =~ m/^(?:serial|parallel)\d+$/) {
            next if $key =~ m/^serial/ && $value eq 'socket';
            push @local, $key;
        }
    }
    return "can't migrate VM which uses local devices: " . join(', ', @local) if @local;
    return "can't migrate to '$target': missing mapped devices " . join(', ', @missing)
        if @missing;
    return "can't live migrate running VM which uses following mapped devices: "
        . join(', ', @not_live) if $running && @not_live;

    for my $key (sort grep { m/$drive_re/ } keys %$conf) {
        my ($volid, @opts) = split(/,/, $conf->{$key});
        next if !grep { $_ eq 'media=cdrom' } @opts;
        next if !$volid || $volid !~ m/^([^:]+):/;
        my $scfg = $sim->{storage}->{ids}->{$1} // {};
        # "can't migrate local disk '...': local cdrom image", then:
        return "can't migrate VM - check log" if !$scfg->{shared};
    }
    return undef;
}

1;

package PVE::Balancer::State::RRD;

# What PVE::Balancer::State reads of the RRD data: the records of rrd_dump (the pvestatd
# broadcast: one positional array per node, guest and storage) decoded into named fields, and
# the averages over a window of the RRD files (PVE::RRD::create_rrd_data), the guests' and
# nodes' measured load when 'rrd-window' is set. One place knows the record layout.

use strict;
use warnings;

# rrd_dump indices (pvestatd broadcast layout; the old pve2-node / pve2.3-vm / pve2-storage
# records share these first fields).
my $node_fields = [
    [uptime => 0], [level => 1], [maxcpu => 4], [cpu => 5], [memtotal => 7], [memused => 8],
    [roottotal => 11], [rootused => 12],
];
# pve-node-9.0 only (pvestatd update_node_status, pmxcfs status.c): the ZFS ARC size and the
# PSI avg10 in percent, in pvestatd's order; the RRD columns are called
# pressure<resource><some|full>.
my $node9_fields = [[arcsize => 16]];
my $node_pressure = [
    ['cpu-some', 17, 'pressurecpusome'],
    ['io-some', 18, 'pressureiosome'],
    ['io-full', 19, 'pressureiofull'],
    ['memory-some', 20, 'pressurememorysome'],
    ['memory-full', 21, 'pressurememoryfull'],
];
my $vm_fields = [
    [uptime => 0], [name => 1], [status => 2], [template => 3], [maxcpu => 5], [cpu => 6],
    [maxmem => 7], [mem => 8], [maxdisk => 9], [disk => 10], [netin => 11], [netout => 12],
    [diskread => 13], [diskwrite => 14],
];
my $vm_memhost = 15; # pve-vm-9.0 only
my $storage_fields = [[maxdisk => 1], [disk => 2]];

=head3 rrd_key($rrd, $type, $id)

The rrd_dump key of a node, guest (C<vm>) or storage (C<node/storage>): the PVE 9 key if
present, else the old one, as PVE::API2Tools::get_rrd_key does.

=cut

sub rrd_key {
    my ($rrd, $type, $id) = @_;

    my $key = "pve-${type}-9.0/$id";
    return $key if defined($rrd->{$key});

    my $old = $type eq 'vm' ? "pve2.3-vm/$id" : "pve2-${type}/$id";
    return $old if defined($rrd->{$old});

    return undef;
}

=head3 rrd_file_name($rrd, $type, $id)

The name of the RRD file behind the rrd_dump record of C<rrd_key>, for PVE::RRD.

=cut

sub rrd_file_name {
    my ($rrd, $type, $id) = @_;

    my $key = rrd_key($rrd, $type, $id) // return undef;
    # the RRD file of the old VM records is called pve2-vm, not pve2.3-vm
    return $key =~ s|^pve2\.3-vm/|pve2-vm/|r;
}

my sub record {
    my ($rrd, $key, $fields) = @_;

    my $d = $rrd->{$key};
    return { map { ($_->[0] => $d->[$_->[1]]) } @$fields };
}

=head3 node_record($rrd, $node)

The rrd_dump record of a node as a hash (uptime, level, maxcpu, cpu, memtotal, memused,
roottotal, rootused; undef where the record has no value), or undef without a record. A PVE 9
record (C<pve9> true) also has arcsize and C<< pressure => { KIND => avg10 % } >> (the kinds
of C<pressure_kinds>).

=cut

sub node_record {
    my ($rrd, $node) = @_;

    my $key = rrd_key($rrd, 'node', $node) // return undef;
    my $res = record($rrd, $key, $node_fields);
    if ($key =~ m!^pve-node-9\.0/!) {
        $res->{pve9} = 1;
        %$res = (%$res, record($rrd, $key, $node9_fields)->%*);
        $res->{pressure} = { map { ($_->[0] => $rrd->{$key}->[$_->[1]]) } @$node_pressure };
    }
    return $res;
}

=head3 pressure_kinds()

The PSI kinds of a PVE 9 node record, in pvestatd's order: cpu-some, io-some, io-full,
memory-some, memory-full.

=cut

sub pressure_kinds {
    return map { $_->[0] } @$node_pressure;
}

=head3 guest_record($rrd, $vmid)

The rrd_dump record of a guest as a hash (uptime, name, status, template, maxcpu, cpu, maxmem,
mem, maxdisk, disk, netin, netout, diskread, diskwrite, and memhost from a PVE 9 record only),
or undef without a record.

=cut

sub guest_record {
    my ($rrd, $vmid) = @_;

    my $key = rrd_key($rrd, 'vm', $vmid) // return undef;
    my $res = record($rrd, $key, $vm_fields);
    $res->{memhost} = $rrd->{$key}->[$vm_memhost] if $key =~ m/^pve-vm-/;
    return $res;
}

=head3 storage_record($rrd, $node, $storage)

The rrd_dump record of a storage on a node as a hash (maxdisk, disk), or undef without one.

=cut

sub storage_record {
    my ($rrd, $node, $storage) = @_;

    my $key = rrd_key($rrd, 'storage', "$node/$storage") // return undef;
    return record($rrd, $key, $storage_fields);
}

my sub rrd_average {
    my ($rrdname, $window, $now, @fields) = @_;

    require PVE::RRD;
    my $data = PVE::RRD::create_rrd_data($rrdname, 'hour', 'AVERAGE');
    my $since = $now - $window * 60;

    my $res = {};
    for my $field (@fields) {
        my ($sum, $n) = (0, 0);
        for my $point (@$data) {
            next if !defined($point->{time}) || $point->{time} < $since;
            my $value = $point->{$field};
            next if !defined($value);
            $sum += $value;
            $n++;
        }
        $res->{$field} = $sum / $n if $n;
    }
    return $res;
}

=head3 read_averages($inputs, $window, $now)

The averages over the last C<$window> minutes of the RRD files of the online nodes (cpu,
memused as mem, the PSI columns of a PVE 9 record as C<< pressure => { KIND => % } >>) and of the running or paused guests (cpu, mem) of C<$inputs> (read_inputs'
rrd, nodelist, members, vmlist): C<($averages, $errors)>, averages keyed C<node/NAME> and
C<vm/VMID>; a file that cannot be read is an error, the others are still read.

=cut

sub read_averages {
    my ($inputs, $window, $now) = @_;

    my $errors = [];
    my $ids = $inputs->{vmlist}->{ids} // {};
    my $rrd = $inputs->{rrd};
    my $avg = {};
    my $members = $inputs->{members};
    for my $node ($inputs->{nodelist}->@*) {
        next if $members && !($members->{$node} && $members->{$node}->{online});
        my $name = rrd_file_name($rrd, 'node', $node) // next;
        my @pressure = $name =~ m!^pve-node-9\.0/! ? map { $_->[2] } @$node_pressure : ();
        my $a = eval { rrd_average($name, $window, $now, qw(cpu memused), @pressure) };
        if ($@) {
            push @$errors, "rrd $name: $@";
            next;
        }
        next if !%$a;
        $avg->{"node/$node"} = { cpu => $a->{cpu}, mem => $a->{memused} };
        for my $p (@$node_pressure) {
            $avg->{"node/$node"}->{pressure}->{ $p->[0] } = $a->{ $p->[2] }
                if defined($a->{ $p->[2] });
        }
    }
    for my $vmid (sort { $a <=> $b } keys %$ids) {
        my $record = guest_record($rrd, $vmid) // next;
        my $status = $record->{status} // '';
        next if $status ne 'running' && $status ne 'paused';
        my $name = rrd_file_name($rrd, 'vm', $vmid);
        # diskread/diskwrite: the RRD's DERIVE data sources, so bytes/s (the engine's optional
        # disk-I/O dimension); the resource entries carry byte counters instead.
        my $a = eval { rrd_average($name, $window, $now, qw(cpu mem diskread diskwrite)) };
        if ($@) {
            push @$errors, "rrd $name: $@";
            next;
        }
        $avg->{"vm/$vmid"} = $a if %$a;
    }

    return ($avg, $errors);
}

1;

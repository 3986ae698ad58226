#!/usr/bin/perl
# Mounting /cluster/balance: PVE::Balancer::APIRegister registers the handler below
# PVE::API2::Cluster, twice is harmless, a broken add-on never stops the API process; and
# PVE::Balancer::Inject / bin/pve-balancer-inject add and remove the BEGIN line in the daemon
# scripts idempotently, with a backup, and never leave a broken file.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use PVEBalancerTest::Setup;

use File::Temp qw(tempdir);
use Test::More;

use PVE::API2;
use PVE::Balancer::Inject;

my $root = $PVEBalancerTest::Setup::root;
my $doubles = "$PVEBalancerTest::Setup::lib/pve-doubles";

sub balance_mounts {
    return scalar(grep { ($_->{path} // '') eq 'balance' }
        @{ PVE::API2::Cluster->method_attributes() });
}

# registration
is(balance_mounts(), 0, 'not mounted before the module is loaded');
ok(!PVE::API2->find_handler('GET', '/cluster/balance', {}), 'no handler yet');

require_ok('PVE::Balancer::APIRegister');
is($PVE::Balancer::APIRegister::registered, 1, 'registered');
is(balance_mounts(), 1, 'mounted once below PVE::API2::Cluster');
my ($class, $info) = PVE::API2->find_handler('POST', '/cluster/balance/evacuate', {});
is($class, 'PVE::API2::Balancer', '/cluster/balance/evacuate resolves to PVE::API2::Balancer');
is($info->{name}, 'evacuate', '... method evacuate');
($class, $info) = PVE::API2->find_handler('GET', '/cluster/resources', {});
is($info->{name}, 'resources', 'the cluster\'s own methods are untouched');

is(PVE::Balancer::APIRegister::register(), 1, 'register() again: fine');
{
    # loading the module anew (another BEGIN line, a reload) does not register twice
    local $PVE::Balancer::APIRegister::registered = 0;
    delete $INC{'PVE/Balancer/APIRegister.pm'};
    my $warnings = '';
    local $SIG{__WARN__} = sub { $warnings .= $_[0] };
    eval { require PVE::Balancer::APIRegister; };
    is($@, '', 'second load does not die');
    is($warnings =~ s/^Subroutine .* redefined.*\n//mgr, '', 'and does not complain');
    is(balance_mounts(), 1, 'still mounted once');
}

# A process that loads the add-on with the injected line, as /usr/bin/pvedaemon would; $hook
# makes a module fail to load.
sub daemon {
    my ($hook_module, @extra_inc) = @_;

    my $hook = $hook_module
        ? "BEGIN { unshift \@INC, sub { return if \$_[1] ne '$hook_module';"
            . " my \$c = qq{die qq{broken add-on\\n};}; open(my \$fh, '<', \\\$c); return \$fh; }; }"
        : '';
    my $script = <<"EOF";
#!/usr/bin/perl -T
use strict;
use warnings;
$hook
use PVE::SafeSyslog;
use PVE::API2;
$PVE::Balancer::Inject::line
my (\$h, \$i) = PVE::API2->find_handler('GET', '/cluster/resources', {});
print "started, cluster api: " . (\$i ? 'ok' : 'missing') . "\\n";
(\$h, \$i) = PVE::API2->find_handler('GET', '/cluster/balance', {});
print "balance: " . (\$i ? \$i->{name} : 'missing') . "\\n";
print "syslog: \$_->[1]" for \@PVE::SafeSyslog::log;
EOF
    my $dir = tempdir(CLEANUP => 1);
    open(my $fh, '>', "$dir/pvedaemon") or die;
    print $fh $script;
    close($fh);
    my @inc = map { ('-I', $_) } ($doubles, $root, @extra_inc);
    my $out = `$^X -T @inc $dir/pvedaemon 2>&1`;
    return ($out, $? >> 8);
}

{
    my ($out, $rc) = daemon(undef, "$root/perl/build/lib", "$root/perl/build/arch");
    is($rc, 0, 'taint-mode daemon with the line starts');
    like($out, qr/^balance: status$/m, 'and serves /cluster/balance');

    ($out, $rc) = daemon('PVE/API2/Balancer.pm');
    is($rc, 0, 'a broken PVE::API2::Balancer does not stop the daemon');
    like($out, qr/^started, cluster api: ok$/m, 'the rest of the API works');
    like($out, qr/^balance: missing$/m, '/cluster/balance is just not there');
    like($out, qr/pve-balancer: \/cluster\/balance not available - broken add-on/,
        'the reason is logged');

    ($out, $rc) = daemon('PVE/Balancer/APIRegister.pm');
    is($rc, 0, 'a broken APIRegister module does not stop the daemon either');
    like($out, qr/^started, cluster api: ok$/m, 'the API works');
}

# injecting the line
my $pvedaemon = <<'EOF';
#!/usr/bin/perl -T

$ENV{'PATH'} = '/sbin:/bin:/usr/sbin:/usr/bin';

delete @ENV{qw(IFS CDPATH ENV BASH_ENV)};

use strict;
use warnings;

use PVE::SafeSyslog;
use PVE::Service::pvedaemon;

$SIG{'__WARN__'} = sub { print STDERR "$_[0]"; };

PVE::Service::pvedaemon->run_cli_handler();
EOF
my $pvesh = <<'EOF';
#!/usr/bin/perl

use strict;
use warnings;

use PVE::CLI::pvesh;

PVE::CLI::pvesh->run_cli_handler();
EOF

sub slurp {
    my ($file) = @_;
    open(my $fh, '<', $file) or die "$file: $!";
    local $/;
    return scalar(<$fh>);
}

sub spew {
    my ($file, $content, $mode) = @_;
    open(my $fh, '>', $file) or die "$file: $!";
    print $fh $content;
    close($fh);
    chmod($mode // 0755, $file);
}

my $dir = tempdir(CLEANUP => 1);
local $PVE::Balancer::Inject::lockfile = "$dir/inject.lock";
spew("$dir/pvedaemon", $pvedaemon);
spew("$dir/pvesh", $pvesh);

is(PVE::Balancer::Inject::status("$dir/pvedaemon"), 'absent', 'status: absent');
is(PVE::Balancer::Inject::install("$dir/pvedaemon"), 'installed', 'install');
my $injected = slurp("$dir/pvedaemon");
like($injected, qr/^use PVE::Service::pvedaemon;\n\Q$PVE::Balancer::Inject::line\E\n\n/m,
    'the line follows the last "use PVE::" line');
is(scalar(() = $injected =~ m/APIRegister/g), 1, 'exactly one line');
is(slurp("$dir/pvedaemon.pve-balancer.bak"), $pvedaemon, 'backup of the original');
is((stat("$dir/pvedaemon"))[2] & 07777, 0755, 'file mode kept');
is(PVE::Balancer::Inject::status("$dir/pvedaemon"), 'installed', 'status: installed');

is(PVE::Balancer::Inject::install("$dir/pvedaemon"), 'unchanged', 'install again: unchanged');
is(slurp("$dir/pvedaemon"), $injected, 'content unchanged');

is(PVE::Balancer::Inject::install("$dir/pvesh"), 'installed', 'install into pvesh');
like(slurp("$dir/pvesh"), qr/^use PVE::CLI::pvesh;\n\Q$PVE::Balancer::Inject::line\E\n/m,
    'pvesh: after "use PVE::CLI::pvesh"');

is(PVE::Balancer::Inject::remove("$dir/pvedaemon"), 'removed', 'remove');
is(slurp("$dir/pvedaemon"), $pvedaemon, 'removal restores the original byte for byte');
is(PVE::Balancer::Inject::remove("$dir/pvedaemon"), 'unchanged', 'remove again: unchanged');
is(PVE::Balancer::Inject::status("$dir/pvedaemon"), 'absent', 'status: absent again');
is(PVE::Balancer::Inject::status("$dir/nosuch"), 'missing', 'status of a missing file');
is(PVE::Balancer::Inject::install("$dir/nosuch"), 'missing', 'install into a missing file');

# the compile check: a change that would break a file that compiles is refused
{
    my $fake_perl = "$dir/fake-perl";
    spew($fake_perl, "#!/bin/sh\nfor f; do :; done\n"
        . "grep -q APIRegister \"\$f\" && exit 1\nexit 0\n");
    my $before = slurp("$dir/pvedaemon");
    eval { PVE::Balancer::Inject::install("$dir/pvedaemon", perl => $fake_perl) };
    like($@, qr/would not compile any more, left unchanged/, 'refused');
    is(slurp("$dir/pvedaemon"), $before, 'file unchanged');
    opendir(my $dh, $dir);
    ok(!grep({ m/^\.pvedaemon\.pve-balancer\./ } readdir($dh)), 'no temporary file left');
}

# with the real perl: a script that compiles keeps compiling
{
    my $plain = "#!/usr/bin/perl\nuse strict;\nuse warnings;\nuse POSIX ();\nprint \"hi\\n\";\n";
    spew("$dir/plain", $plain);
    is(PVE::Balancer::Inject::install("$dir/plain"), 'installed', 'compile-checked install');
    like(slurp("$dir/plain"), qr/^use warnings;\n\Q$PVE::Balancer::Inject::line\E$/m,
        'no PVE use line: after "use warnings"');
    my $out = `$^X -c $dir/plain 2>&1`;
    like($out, qr/syntax OK/, 'still compiles');
    is(`$^X $dir/plain`, "hi\n", 'and runs (the add-on is simply not there)');
}

# a file without use lines is left alone
{
    spew("$dir/odd", "#!/bin/sh\necho hi\n");
    eval { PVE::Balancer::Inject::install("$dir/odd") };
    like($@, qr/no 'use' line to insert after/, 'no insertion point: error');
    is(slurp("$dir/odd"), "#!/bin/sh\necho hi\n", 'file unchanged');
}

# the command
{
    spew("$dir/pveproxy", $pvedaemon =~ s/pvedaemon/pveproxy/gr);
    my $cmd = "$^X -I$root $root/bin/pve-balancer-inject";
    local $ENV{PERL5LIB};
    is(`$cmd status $dir/pveproxy`, "$dir/pveproxy: absent\n", 'pve-balancer-inject status');
    is(`$cmd install --no-check $dir/pveproxy $dir/nosuch`,
        "$dir/pveproxy: installed\n$dir/nosuch: missing\n", 'pve-balancer-inject install');
    is(`$cmd install --no-check $dir/pveproxy`, "$dir/pveproxy: unchanged\n", 'idempotent');
    is(`$cmd remove $dir/pveproxy`, "$dir/pveproxy: removed\n", 'pve-balancer-inject remove');
    `$cmd frobnicate 2>/dev/null`;
    is($? >> 8, 2, 'unknown command: exit 2');
}

done_testing();
